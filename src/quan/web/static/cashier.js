// Cashier screen (issue 16, point 10).
// - The code field has the focus whenever the screen waits for a customer (USB scanners type
//   into the focused field): on load, and again after each redemption.
// - Camera scanning: the browser's BarcodeDetector where it has one (Chrome on Android, ChromeOS
//   and macOS, Edge); elsewhere (iOS Safari, Firefox, desktop Linux) the vendored jsQR decoder
//   (static/jsQR.js, Apache-2.0, loaded only when the camera is used). Where no camera can be
//   used (no camera API, a page not served over https, permission refused) the page says so.
// - The shift report's print button.
(function () {
  "use strict";
  var printButton = document.getElementById("print");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
  var input = document.getElementById("code");
  if (!input) { return; }
  var button = document.getElementById("scan");
  var video = document.getElementById("scanner");
  var status = document.getElementById("scan-unsupported");
  var words = document.getElementById("scan-words");

  function say(key) {
    if (status && words) {
      status.textContent = words.getAttribute("data-" + key) || "";
      status.classList.remove("hidden");
    }
  }

  function codeField() { return document.getElementById("code"); }

  input.focus();
  // After htmx has put an answer in #result (and done its own focus handling): the confirm
  // button after a preview, the code field after a redemption.
  document.body.addEventListener("htmx:afterSettle", function () {
    window.setTimeout(function () {
      var result = document.getElementById("result");
      if (!result) { return; }
      var confirm = result.querySelector("[data-test=confirm]");
      if (result.querySelector("[data-test=redeemed]")) {
        codeField().focus();  // ready for the next customer
      } else if (confirm && document.activeElement !== confirm) {
        confirm.focus();
      }
    }, 0);
  });
  document.body.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("#preview-cancel");
    if (!cancel) { return; }
    event.preventDefault();
    document.getElementById("result").innerHTML = "";
    var amount = document.getElementById("amount");
    (amount || codeField()).focus();
  });

  if (!button || !video) { return; }

  function nativeDetector() {
    if (!("BarcodeDetector" in window)) { return Promise.resolve(null); }
    return window.BarcodeDetector.getSupportedFormats()
      .then(function (formats) {
        return formats.indexOf("qr_code") >= 0
          ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
      })
      .catch(function () { return null; });
  }

  function loadJsQR() {
    if (window.jsQR) { return Promise.resolve(window.jsQR); }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = "/static/jsQR.js";
      script.onload = function () { return window.jsQR ? resolve(window.jsQR) : reject(); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  // A detector with one method: look(video) -> Promise of the text found, or null.
  function detector() {
    return nativeDetector().then(function (native) {
      if (native) {
        return { look: function (v) {
          return native.detect(v).then(function (codes) {
            return codes.length > 0 ? codes[0].rawValue : null;
          });
        } };
      }
      return loadJsQR().then(function (jsQR) {
        var canvas = document.createElement("canvas");
        var context = canvas.getContext("2d", { willReadFrequently: true });
        return { look: function (v) {
          var scale = Math.min(1, 640 / (v.videoWidth || 640));
          canvas.width = Math.floor((v.videoWidth || 640) * scale);
          canvas.height = Math.floor((v.videoHeight || 480) * scale);
          if (!canvas.width || !canvas.height) { return Promise.resolve(null); }
          context.drawImage(v, 0, 0, canvas.width, canvas.height);
          var image = context.getImageData(0, 0, canvas.width, canvas.height);
          var found = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
          return Promise.resolve(found ? found.data : null);
        } };
      });
    });
  }

  function stop(stream) {
    stream.getTracks().forEach(function (track) { track.stop(); });
    video.srcObject = null;
    video.classList.add("hidden");
  }

  function scan() {
    detector().then(function (d) {
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (stream) {
          video.srcObject = stream;
          video.classList.remove("hidden");
          say("looking");
          return video.play().then(function () {
            var started = Date.now();
            function look() {
              if (Date.now() - started > 60000) { stop(stream); say("none"); return; }
              d.look(video).then(function (text) {
                if (text) {
                  codeField().value = text;
                  stop(stream);
                  say("ready");
                  var amount = document.getElementById("amount");
                  if (amount) { amount.focus(); }
                } else {
                  window.setTimeout(look, 120);
                }
              }).catch(function () { window.setTimeout(look, 120); });
            }
            look();
          });
        }, function () { say("denied"); });
    }).catch(function () { say("unsupported"); });
  }

  if (!window.isSecureContext) {
    say("insecure");  // browsers give the camera to https pages (and localhost) only
  } else if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say("unsupported");
  } else {
    say("ready");
    button.classList.remove("hidden");
    button.addEventListener("click", scan);
  }
}());
