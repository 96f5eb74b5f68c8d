// Draws every chart of the dashboard from the figure JSON the server embedded beside it, on the
// first load and again after each htmx swap of the dashboard body (no full page load).
// plotly.js (a partial bundle, still the page's heaviest file) is fetched only once a chart is
// about to scroll into view, so the headline figures never wait for it.
(function () {
  var script = document.getElementById("dashboard-script");
  var plotlyUrl = script && script.dataset.plotly;
  var loading = null;
  var CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };

  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = plotlyUrl;
        tag.onload = function () { resolve(window.Plotly); };
        tag.onerror = reject;
        document.head.appendChild(tag);
      });
    }
    return loading;
  }

  function drawOne(el) {
    var source = document.getElementById(el.dataset.figure);
    if (!source) return;
    var figure = JSON.parse(source.textContent);
    loadPlotly().then(function (Plotly) { Plotly.react(el, figure.data, figure.layout, CONFIG); });
  }

  function draw(root) {
    var charts = root.querySelectorAll("[data-figure]");
    if (!("IntersectionObserver" in window)) {
      charts.forEach(drawOne);
      return;
    }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        observer.unobserve(entry.target);
        drawOne(entry.target);
      });
    }, { rootMargin: "200px" });
    charts.forEach(function (el) { observer.observe(el); });
  }

  // Sections a manager opened stay open when filters swap the body in.
  var OPEN_KEY = "dashboard-open-sections";
  function openSections() {
    try { return JSON.parse(sessionStorage.getItem(OPEN_KEY) || "[]"); } catch (e) { return []; }
  }
  function restoreSections(root) {
    var open = openSections();
    root.querySelectorAll("details[data-section]").forEach(function (el) {
      if (open.indexOf(el.dataset.section) !== -1) el.open = true;
    });
  }
  document.addEventListener("toggle", function (event) {
    var el = event.target;
    if (!el.dataset || !el.dataset.section) return;
    var open = openSections().filter(function (key) { return key !== el.dataset.section; });
    if (el.open) open.push(el.dataset.section);
    try { sessionStorage.setItem(OPEN_KEY, JSON.stringify(open)); } catch (e) { /* private mode */ }
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    restoreSections(document);
    draw(document);
    var form = document.getElementById("filters");
    if (!form) return;
    // A preset, a month and a range each replace the others, which would otherwise win.
    form.addEventListener("change", function (event) {
      var name = event.target.name;
      if (name === "preset") {
        form.dataset.preset = event.target.value;
        if (event.target.value !== "month") form.elements.month.value = "";
        if (event.target.value !== "custom") {
          form.elements.start.value = "";
          form.elements.end.value = "";
        }
      } else if (name === "month") {
        form.elements.start.value = "";
        form.elements.end.value = "";
        form.elements.preset.value = "month";
        form.dataset.preset = "month";
      } else if (name === "start" || name === "end") {
        form.elements.month.value = "";
        form.elements.preset.value = "custom";
        form.dataset.preset = "custom";
      }
    }, true);
  });
  document.addEventListener("htmx:afterSwap", function () { restoreSections(document); });
  document.addEventListener("htmx:afterSettle", function () {
    restoreSections(document);
    draw(document);
  });
})();
