/* Quan console: the little every page shares. No framework, no build step.

   A wide table scrolls sideways inside its own box (.table) on a phone, so the page itself
   never does. A box that scrolls must be reachable by keyboard (WCAG 2.1.1, axe-core's
   "scrollable-region-focusable"): such a box becomes a named, focusable region, and stops
   being one when the screen is wide enough for the whole table. */
(function () {
  "use strict";

  function label(box) {
    var caption = box.querySelector("caption");
    var section = box.closest("section, .card");
    var heading = caption || (section && section.querySelector("h2, h3, h1"));
    return heading ? heading.textContent.trim() : "";
  }

  function mark() {
    document.querySelectorAll(".table").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.tabIndex = 0;
        var name = label(box);
        if (name) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", name);
        }
        box.dataset.scrolls = "yes";
      } else if (box.dataset.scrolls === "yes") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
        delete box.dataset.scrolls;
      }
    });
  }

  var pending = 0;
  function soon() {
    window.clearTimeout(pending);
    pending = window.setTimeout(mark, 100);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mark);
  } else {
    mark();
  }
  window.addEventListener("resize", soon);
  document.addEventListener("htmx:afterSettle", mark);
})();
