// On a phone the sections are one row that scrolls sideways: bring the current one into view
// (otherwise "Audit log" is off the right edge while you are on it). Only sideways, and only
// when the row overflows, so the page itself never moves. Again when the width changes (a
// phone turned), not on every resize (a URL bar that hides would undo the person's scrolling).
(function () {
  var nav = document.querySelector("nav.side");
  var current = nav && nav.querySelector("[aria-current=page]");
  if (!current) return;
  var width = 0;
  function show() {
    if (window.innerWidth === width) return;
    width = window.innerWidth;
    if (nav.scrollWidth <= nav.clientWidth) return;
    var box = nav.getBoundingClientRect();
    var link = current.getBoundingClientRect();
    nav.scrollLeft += link.left - box.left - (box.width - link.width) / 2;
  }
  show();
  window.addEventListener("resize", show);
})();
