// The landing page's "Copy" button: `data-copy` names the input whose value is copied. The
// button is hidden until this runs, so without scripts the code is there to select.
(function () {
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      function say(text) { if (status) status.textContent = text; }
      input.select();
      var done = button.getAttribute("data-done"), fail = button.getAttribute("data-fail");
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(function () { say(done); }, function () { say(fail); });
      } else {
        say(document.execCommand("copy") ? done : fail);
      }
    });
  });
})();
