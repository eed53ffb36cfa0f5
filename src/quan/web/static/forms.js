// Console forms: after a refusal, move focus to the first field the server marked invalid
// (aria-invalid="true"), also when htmx swapped the form in. No inline script (CSP).
(function () {
  "use strict";
  function focusFirstInvalid(root) {
    var field = (root || document).querySelector('[aria-invalid="true"]');
    if (field && typeof field.focus === "function") {
      field.focus();
      if (typeof field.select === "function" && field.tagName === "INPUT") {
        try { field.select(); } catch (e) { /* not a text input */ }
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { focusFirstInvalid(document); });
  document.addEventListener("htmx:afterSettle", function () { focusFirstInvalid(document); });
})();
