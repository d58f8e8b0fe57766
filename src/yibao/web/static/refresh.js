// Pages that renew themselves (the e-voucher's payment code, a file's progress) name the seconds in
// <meta name="yibao-refresh">; this reloads them then. Without JavaScript, the page's <noscript> refresh does it.
(function () {
  var meta = document.querySelector('meta[name="yibao-refresh"]');
  var seconds = meta ? parseInt(meta.getAttribute("content"), 10) : 0;
  if (seconds > 0) {
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
