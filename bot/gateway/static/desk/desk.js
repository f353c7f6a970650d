/* Small conveniences only; every page works without this script. */
(function () {
  "use strict";
  // Live character count for textareas with data-counter="<id of the count element>".
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var out = document.getElementById(area.getAttribute("data-counter"));
    if (!out) { return; }
    var update = function () { out.textContent = String(Array.from(area.value).length); };
    area.addEventListener("input", update);
    update();
  });
  // Ask before irreversible or disruptive actions (forms with data-confirm).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
