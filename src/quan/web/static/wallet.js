/* The resident's wallet: the resend button counts down the minute a new code must wait
   (data-wait seconds, data-wait-text with {s}); without script the button works as a plain
   button and the server answers a resend too soon with a notice. No framework. */
(function () {
  "use strict";
  function countdown(button) {
    var left = parseInt(button.dataset.wait || "0", 10);
    if (!(left > 0)) { return; }
    var label = button.textContent;
    var text = button.dataset.waitText || "{s}";
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        button.removeAttribute("data-counting");
        return;
      }
      button.disabled = true;
      button.setAttribute("data-counting", "yes");
      button.textContent = text.replace("{s}", String(left));
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  }
  function start() {
    document.querySelectorAll("button[data-wait]").forEach(countdown);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
