// The program builder: in each reward, show only the fields of the kind chosen (a coupon's
// percent off, a product's SKU...). Without this script every field shows, as before; the
// server checks the same rules (goodword/programs/rules.py, KIND_FIELDS) either way.
(function () {
  "use strict";

  function sync(group) {
    var select = group.querySelector(":scope > .fields > .field select[name$='.kind']");
    if (!select) return;
    group.querySelectorAll("[data-kinds]").forEach(function (part) {
      if (part.closest("fieldset.group") !== group && part.parentElement.closest("fieldset.group") !== group) return;
      var off = part.dataset.kinds.split(" ").indexOf(select.value) === -1;
      part.hidden = off;
      // A hidden field is not sent: a value typed before the kind changed is not an error.
      part.querySelectorAll("input, select, textarea, button").forEach(function (control) {
        control.disabled = off;
      });
    });
  }

  function syncAll(root) {
    root.querySelectorAll("fieldset.group").forEach(sync);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name$='.kind']")) sync(event.target.closest("fieldset.group"));
  });
  document.addEventListener("htmx:afterSwap", function () { syncAll(document); });
  syncAll(document);
})();
