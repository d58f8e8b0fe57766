// The cashier's desk: scan the payment code's QR with the camera where the browser can read barcodes
// (BarcodeDetector). Without it, or without JavaScript, the button stays hidden and the digits are typed
// (a handheld scanner types them too).
(function () {
  var button = document.querySelector("[data-scan]");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) {
    return;
  }
  var input = document.getElementById(button.getAttribute("data-scan"));
  var video = document.querySelector(".scan-view");
  button.parentElement.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      var stop = function () {
        stream.getTracks().forEach(function (track) { track.stop(); });
        video.hidden = true;
      };
      var look = function () {
        detector.detect(video).then(function (found) {
          var digits = found.length ? found[0].rawValue.replace(/\D/g, "") : "";
          if (digits.length === 20) {
            input.value = digits;
            stop();
            input.focus();
          } else {
            window.requestAnimationFrame(look);
          }
        }).catch(stop);
      };
      look();
    }).catch(function () { input.focus(); });
  });
})();
