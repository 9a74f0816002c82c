// The visitor's own time beside the calendar's, when the two differ: the sessions are
// followed by video from other time zones. Progressive enhancement: without JavaScript
// the page shows the calendar's time only. A file, so that the Content-Security-Policy
// can forbid inline scripts.
(function () {
  "use strict";

  var NBSP = "\u00a0";

  // "+02:00" at the end of an ISO 8601 date-time, in minutes east of UTC.
  function offsetOf(iso) {
    var found = /([+-])(\d{2}):(\d{2})$/.exec(iso);
    if (!found) {
      return iso.slice(-1) === "Z" ? 0 : null;
    }
    var minutes = Number(found[2]) * 60 + Number(found[3]);
    return found[1] === "-" ? -minutes : minutes;
  }

  // French typography, as the page writes it: "8 h 45", "9 h".
  function clock(date) {
    var minutes = date.getMinutes();
    var text = date.getHours() + NBSP + "h";
    return minutes ? text + NBSP + (minutes < 10 ? "0" : "") + minutes : text;
  }

  function day(date) {
    var text = new Intl.DateTimeFormat("fr-FR", {
      weekday: "long", day: "numeric", month: "long"
    }).format(date);
    return text.replace(/(\d+) /, "$1" + NBSP).replace(/^(\S+ )1(?=\u00a0)/, function (all, head) {
      return head + "1er";
    });
  }

  // The visitor's time zone by its French name, at that date (CLDR's, as the browser has
  // it): « heure d’été britannique », « heure normale du Japon ». Not the city of its IANA
  // id, which is English (London, Brussels). Nothing where the browser cannot tell.
  function place(date) {
    try {
      var parts = new Intl.DateTimeFormat("fr-FR", { timeZoneName: "long" }).formatToParts(date);
      for (var i = 0; i < parts.length; i += 1) {
        if (parts[i].type === "timeZoneName") {
          return parts[i].value;
        }
      }
    } catch (error) {
      return "";
    }
    return "";
  }

  function show(element) {
    var startIso = element.getAttribute("data-start");
    var endIso = element.getAttribute("data-end");
    var start = new Date(startIso);
    var end = new Date(endIso);
    if (isNaN(start.getTime()) || isNaN(end.getTime())) {
      return;
    }
    var offset = offsetOf(startIso);
    var endOffset = offsetOf(endIso);
    if (offset === null || endOffset === null) {
      return;
    }
    // The visitor's clock reads as the calendar's at both ends: at the start only is not
    // enough, when the clocks change in one of the zones during the session (Paris on the
    // last Sunday of March, seen from Algiers or Lagos, an hour apart at its end).
    if (offset === -start.getTimezoneOffset() && endOffset === -end.getTimezoneOffset()) {
      return;
    }
    var sameDay = start.toDateString() === end.toDateString();
    var text = day(start) + ", " + clock(start) + NBSP + "– " +
      (sameDay ? "" : day(end) + ", ") + clock(end);
    var where = place(start);
    var note = document.createElement("span");
    note.className = "visitor-time";
    note.textContent = "Chez vous" + (where ? " (" + where + ")" : "") + NBSP + ": " + text;
    element.parentNode.insertBefore(note, element.nextSibling);
  }

  document.querySelectorAll(".when-at[data-start]").forEach(show);
})();
