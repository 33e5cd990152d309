/* Letters: a live character counter for the local note, and the status page following its letter.
   Both are enhancements: without JavaScript the counter shows the count at page load and the status page has a
   Refresh link. */
(function () {
  "use strict";

  function formatNumber(n) {
    return n.toLocaleString("en-US");
  }

  // "2026-03-16" as the page writes it: "March 16, 2026" (a calendar day, no time zone involved).
  function longDate(iso) {
    var parts = iso.split("-").map(Number);
    var months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
      "October", "November", "December"];
    return months[parts[1] - 1] + " " + parts[2] + ", " + parts[0];
  }

  function setUpCounter(textarea) {
    var output = document.getElementById(textarea.getAttribute("data-counter"));
    var max = parseInt(textarea.getAttribute("maxlength"), 10);
    if (!output || !max) {
      return;
    }
    // The visible count changes on every keystroke; screen readers hear it only at milestones, through a
    // separate live region, so typing is not drowned in announcements.
    output.removeAttribute("aria-live");
    var announcer = document.createElement("span");
    announcer.className = "visually-hidden";
    announcer.setAttribute("aria-live", "polite");
    output.parentNode.insertBefore(announcer, output.nextSibling);
    var lastBucket = null;
    function update() {
      var length = textarea.value.length;
      var left = max - length;
      output.textContent = formatNumber(length) + " of " + formatNumber(max) + " characters" +
        (left <= 100 ? " (" + formatNumber(left) + " left)" : "");
      output.classList.toggle("near-limit", left <= 100);
      var bucket = left <= 100 ? "left-" + Math.floor(left / 25) : "used-" + Math.floor(length / 250);
      if (lastBucket !== null && bucket !== lastBucket) {
        announcer.textContent = output.textContent;
      }
      lastBucket = bucket;
    }
    textarea.addEventListener("input", update);
    update();
  }

  var FAST_MS = 2000;      // while the letter is queued or being sent
  var SLOW_MS = 15000;     // afterwards, for delivery events (delivered, bounced)
  var SLOW_FOR_MS = 600000;

  function setUpStatus(section) {
    var url = section.getAttribute("data-status-url");
    var label = document.getElementById("letter-status-label");
    var noJs = section.querySelector(".no-js");
    var settledAt = section.getAttribute("data-in-flight") === "true" ? null : Date.now();
    if (noJs) {
      noJs.textContent = "This page follows the letter's status as it changes.";
    }

    function render(letter) {
      if (label && label.textContent !== letter.status_label) {
        label.textContent = letter.status_label;
        label.parentNode.className = "letter-status status-" + letter.status;
      }
      if (letter.pdf_url) {
        Array.prototype.forEach.call(document.querySelectorAll("[data-pdf-link]"), function (el) {
          el.hidden = false;
        });
        Array.prototype.forEach.call(document.querySelectorAll("[data-pdf-pending]"), function (el) {
          el.hidden = true;
        });
      }
      letter.recipients.forEach(function (recipient, index) {
        var row = document.querySelector('tr[data-recipient="' + index + '"]');
        if (!row) {
          return;
        }
        var status = row.querySelector('[data-field="status"]');
        var detail = row.querySelector('[data-field="detail"]');
        if (status && status.textContent !== recipient.status_label) {
          status.textContent = recipient.status_label;
          status.className = "delivery-status status-" + recipient.status;
        }
        if (detail) {
          var text = recipient.receipt_number ? "Receipt " + recipient.receipt_number :
            recipient.mailed_on ? "Mailed " + longDate(recipient.mailed_on) : recipient.error;
          if (detail.textContent !== text) {
            detail.textContent = text;
          }
        }
      });
      return letter.status === "queued" || letter.status === "rendered";
    }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (letter) {
          var inFlight = render(letter);
          if (inFlight) {
            settledAt = null;
            window.setTimeout(poll, FAST_MS);
          } else {
            settledAt = settledAt || Date.now();
            if (Date.now() - settledAt < SLOW_FOR_MS) {
              window.setTimeout(poll, SLOW_MS);
            }
          }
        })
        .catch(function () {
          window.setTimeout(poll, SLOW_MS);  // offline or the server restarting: try again, gently
        });
    }

    window.setTimeout(poll, settledAt ? SLOW_MS : FAST_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-counter]"), setUpCounter);
    var section = document.getElementById("letter-live");
    if (section && window.fetch) {
      setUpStatus(section);
    }
  });
})();
