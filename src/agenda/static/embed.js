// The embed's height, told to the page that frames it: with the few lines of script the
// README gives, the CEPS site sizes its <iframe> to the list, which grows and shrinks with
// the sessions and the width (no inner scroll bar, no blank space). Only a number is sent,
// to any parent: nothing else leaves the frame. A file, so that the Content-Security-Policy
// can forbid inline scripts.
(function () {
  "use strict";

  if (window.parent === window) {
    return; // not framed
  }
  var told = 0;

  function tell() {
    var style = window.getComputedStyle(document.body);
    var height = Math.ceil(document.body.getBoundingClientRect().height +
      parseFloat(style.marginTop) + parseFloat(style.marginBottom));
    if (height !== told) {
      told = height;
      window.parent.postMessage({ agenda: "height", height: height }, "*");
    }
  }

  if (window.ResizeObserver) {
    new window.ResizeObserver(tell).observe(document.body);
  } else {
    window.addEventListener("resize", tell);
  }
  window.addEventListener("load", tell);
})();
