// Cashier screen: scan the citizen's QR code with the camera where the browser can decode it
// (the BarcodeDetector API: Chrome on Android, ChromeOS and macOS, Edge, Samsung Internet).
// Elsewhere the button stays hidden and the cashier types the code, which always works.
(function () {
  "use strict";
  var button = document.getElementById("scan");
  var video = document.getElementById("scanner");
  var input = document.getElementById("code");
  if (!button || !video || !input) { return; }

  function canScan() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
      return Promise.resolve(false);
    }
    return window.BarcodeDetector.getSupportedFormats()
      .then(function (formats) { return formats.indexOf("qr_code") >= 0; })
      .catch(function () { return false; });
  }

  function stop(stream) {
    stream.getTracks().forEach(function (track) { track.stop(); });
    video.srcObject = null;
    video.classList.add("hidden");
  }

  function scan() {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        video.classList.remove("hidden");
        return video.play().then(function () {
          var started = Date.now();
          function look() {
            if (Date.now() - started > 60000) { stop(stream); return; }  // give up after a minute
            detector.detect(video).then(function (codes) {
              if (codes.length > 0) {
                input.value = codes[0].rawValue;
                stop(stream);
                var amount = document.querySelector("input[name=amount]");
                if (amount) { amount.focus(); }
              } else {
                window.requestAnimationFrame(look);
              }
            }).catch(function () { window.requestAnimationFrame(look); });
          }
          look();
        });
      })
      .catch(function () {
        document.getElementById("scan-unsupported").classList.remove("hidden");
      });
  }

  canScan().then(function (ok) {
    if (!ok) { return; }
    button.classList.remove("hidden");
    button.addEventListener("click", scan);
  });
}());
