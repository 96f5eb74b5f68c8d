// Behaviour shared by every page. No inline handlers: the Content-Security-Policy refuses them.
(function () {
  // A <select data-submit-on-change> submits its form as soon as a choice is made (the org
  // switcher); its <noscript> button covers browsers without JavaScript.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-submit-on-change]") && target.form) {
      target.form.submit();
    }
  });
})();
