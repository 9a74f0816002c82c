// Copy buttons for read-only fields, such as the calendar's subscription address.
// Progressive enhancement: without JavaScript the field stays readable and
// selectable and the button stays hidden. Served as a file so that the
// Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";

  function setup(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-status"));
    if (!field) {
      return;
    }

    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }

    function fallback() {
      field.focus();
      field.select();
      var copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (error) {
        copied = false;
      }
      say(copied ? "Adresse copiée." : "Adresse sélectionnée\u00a0: copiez-la avec Ctrl+C (ou ⌘+C).");
    }

    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () {
          say("Adresse copiée.");
        }, fallback);
      } else {
        fallback();
      }
    });
    field.addEventListener("focus", function () {
      field.select();
    });
  }

  document.querySelectorAll("button[data-copy]").forEach(setup);
})();
