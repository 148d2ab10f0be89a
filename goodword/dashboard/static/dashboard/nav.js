// On a phone the sections are one row that scrolls sideways: bring the current one into view
// (otherwise "Audit log" is off the right edge while you are on it). Only sideways, and only
// when the row overflows, so the page itself never moves.
(function () {
  var nav = document.querySelector("nav.side");
  var current = nav && nav.querySelector("[aria-current=page]");
  if (!current || nav.scrollWidth <= nav.clientWidth) return;
  var box = nav.getBoundingClientRect();
  var link = current.getBoundingClientRect();
  nav.scrollLeft += link.left - box.left - (box.width - link.width) / 2;
})();
