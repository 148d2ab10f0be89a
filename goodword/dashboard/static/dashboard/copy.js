// "Copy" buttons: `data-copy` names the input whose value goes to the clipboard. The buttons
// are hidden until this runs, so a page without scripts shows only the text to select.
(function () {
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      function done(text) {
        if (status) status.textContent = text;
      }
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(
          function () { done("Copied to the clipboard."); },
          function () { done("Select the secret and copy it."); }
        );
      } else {
        done(document.execCommand("copy") ? "Copied to the clipboard." : "Select the secret and copy it.");
      }
    });
  });
})();
