// Skopos dashboard: progressive enhancements only; every page works
// without this file. Loaded from 'self' (the CSP forbids inline scripts).
(function () {
  "use strict";

  // Period picker: show the dates only for a custom range, and apply a
  // named period as soon as it is picked.
  var form = document.getElementById("period-form");
  if (form) {
    var sel = form.querySelector("#period");
    var range = form.querySelector(".custom-range");
    var sync = function () { range.hidden = sel.value !== "custom"; };
    sync();
    sel.addEventListener("change", function () {
      sync();
      if (sel.value !== "custom") {
        form.querySelector("#from").disabled = true;
        form.querySelector("#to").disabled = true;
        form.submit();
      } else {
        form.querySelector("#from").focus();
      }
    });
  }

  // Live visitors: poll the counter every 10 s without reloading.
  var live = document.getElementById("active-users");
  if (live && live.dataset.src) {
    var poll = function () {
      if (document.hidden) return;
      fetch(live.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          if (d && typeof d.activeUsers === "number") {
            live.textContent = d.activeUsers.toLocaleString("en-US");
          }
        })
        .catch(function () {});
    };
    setInterval(poll, 10000);
    document.addEventListener("visibilitychange", poll);
  }

  // Copy buttons for the snippet and tracking id.
  document.querySelectorAll("button.copy").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.dataset.copy);
      if (!el) return;
      var text = el.value !== undefined ? el.value : el.textContent;
      var done = function () {
        var old = btn.textContent;
        btn.textContent = "Copied";
        setTimeout(function () { btn.textContent = old; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else if (el.select) {
        el.select();
        document.execCommand("copy");
        done();
      }
    });
  });
})();
