// Campaign console helpers. The pages work without this file; it adds a live letter preview while a template is
// edited, and live progress of alert mailings on a campaign's page.
(function () {
  "use strict";

  // Template editor: refresh the PDF preview a moment after typing stops, and once on load.
  var form = document.getElementById("template-form");
  if (form) {
    var previewButton = form.querySelector('button[formaction="/console/templates/preview.pdf"]');
    var timer = null;
    var refresh = function () {
      if (previewButton && form.requestSubmit) { form.requestSubmit(previewButton); }
    };
    form.addEventListener("input", function (event) {
      if (event.target && event.target.id === "note") { return; }
      clearTimeout(timer);
      timer = setTimeout(refresh, 1200);
    });
    refresh();
  }

  // Campaign page: poll the mailings' progress while one is still going.
  var runs = document.getElementById("runs");
  if (runs && window.fetch) {
    var url = runs.getAttribute("data-progress-url");
    var status = document.getElementById("progress-status");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var busy = false;
          data.runs.forEach(function (run) {
            var row = runs.querySelector('tr[data-run="' + run.id + '"]');
            if (!row) { return; }
            row.querySelector('[data-field="status"]').textContent = run.status;
            row.querySelector('[data-field="sent"]').textContent = run.sent + " of " + run.total;
            row.querySelector('[data-field="failed"]').textContent = run.failed;
            var bar = row.querySelector("progress");
            if (bar) { bar.value = run.percent; bar.textContent = run.percent + "%"; }
            if (run.status === "queued" || run.status === "sending") { busy = true; }
          });
          ["alerts_sent", "time_left", "cities_acted"].forEach(function (key) {
            var el = document.querySelector('[data-live="' + key + '"]');
            if (el) { el.textContent = data[key]; }
          });
          if (busy) {
            setTimeout(poll, 2000);
          } else if (status) {
            status.textContent = "Every mailing has finished.";
          }
        })
        .catch(function () { setTimeout(poll, 10000); });
    };
    poll();
  }
})();
