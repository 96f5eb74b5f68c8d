// Draws every chart of the dashboard from the figure JSON the server embedded beside it, on the
// first load and again after each htmx swap of the dashboard body (no full page load).
(function () {
  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.react(el, figure.data, figure.layout, { responsive: true, displaylogo: false });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
    var form = document.getElementById("filters");
    if (!form) return;
    // Picking a month replaces a custom range, which would otherwise win over it.
    form.addEventListener("change", function (event) {
      if (event.target.name === "month") {
        form.elements.start.value = "";
        form.elements.end.value = "";
      } else if (event.target.name === "start" || event.target.name === "end") {
        form.elements.month.value = "";
      }
    }, true);
  });
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
})();
