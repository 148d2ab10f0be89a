// The flyer's Print button: shown only where JavaScript runs (it does nothing without it).
"use strict";
(function () {
  var button = document.getElementById("print");
  if (!button || typeof window.print !== "function") {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
})();
