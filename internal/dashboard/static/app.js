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

  // "Active now" counters (the site page's one, the overview's one per
  // card): ONE EventSource per page, named by the element with
  // data-stream; each "active" event maps site record ids to counts (all
  // of them first, then the ones that changed), set on the elements
  // whose data-active is that id. On an error the counters are marked
  // stale; EventSource reconnects by itself and the server then sends
  // every count again. data-connected on the stream's element says the
  // counters are fed (set on the first counts: the server subscribes
  // before it reads them).
  var activeStream = document.querySelector("#active-users[data-stream], #sites[data-stream]");
  if (activeStream && window.EventSource) {
    var counters = {};
    document.querySelectorAll("[data-active]").forEach(function (el) { counters[el.dataset.active] = el; });
    var activeSrc = new EventSource(activeStream.dataset.stream);
    activeSrc.addEventListener("active", function (m) {
      var d = JSON.parse(m.data);
      activeStream.dataset.connected = "1";
      Object.keys(d).forEach(function (id) {
        var el = counters[id];
        if (el && typeof d[id] === "number") {
          var first = document.getElementById("first-event");
          if (first && d[id] > 0 && !first.classList.contains("arrived")) {
            // a website's first visitor: the getting-started panel says so
            first.classList.add("arrived");
            first.textContent = "First event received. Reload the page to see it.";
          }
          el.textContent = d[id].toLocaleString("en-US");
          el.classList.remove("stale");
          el.removeAttribute("title");
        }
      });
    });
    activeSrc.addEventListener("error", function () {
      delete activeStream.dataset.connected;
      Object.keys(counters).forEach(function (id) {
        counters[id].classList.add("stale");
        counters[id].title = "Not up to date: the live connection is interrupted";
      });
    });
  }

  // Live view: an EventSource on the site's stream. Everything from the
  // stream is set with textContent (paths and referrers come from
  // visitors' browsers).
  var rt = document.getElementById("realtime");
  if (rt && rt.dataset.stream && window.EventSource) {
    var status = document.getElementById("live-status");
    var activeEl = document.getElementById("live-active");
    var pagesEl = document.getElementById("live-pages");
    var refsEl = document.getElementById("live-referrers");
    var eventsEl = document.getElementById("live-events");
    var maxRows = 100;
    // visitor -> {path, referrer, seen}: who is active and where; extra:
    // the active visitors the snapshot counted but did not list
    var visitors = {};
    var extra = 0;
    var fillList = function (ul, field) {
      var m = {};
      Object.keys(visitors).forEach(function (v) {
        var k = visitors[v][field] || "";
        m[k] = (m[k] || 0) + 1;
      });
      var counts = Object.keys(m).map(function (k) { return { key: k, n: m[k] }; })
        .sort(function (a, b) { return b.n - a.n || (a.key < b.key ? -1 : 1); }).slice(0, 20);
      ul.textContent = "";
      if (!counts.length) {
        var li = document.createElement("li");
        li.className = "muted";
        li.textContent = "Nobody right now";
        ul.appendChild(li);
        return;
      }
      counts.forEach(function (c) {
        var li = document.createElement("li");
        var k = document.createElement("span");
        k.className = "val";
        k.textContent = c.key || (field === "referrer" ? "(direct)" : "/");
        var n = document.createElement("span");
        n.textContent = c.n.toLocaleString("en-US");
        li.appendChild(k);
        li.appendChild(n);
        ul.appendChild(li);
      });
    };
    var redraw = function () {
      var now = Date.now();
      Object.keys(visitors).forEach(function (v) {
        if (now - visitors[v].seen > 5 * 60 * 1000) delete visitors[v];
      });
      activeEl.textContent = (extra + Object.keys(visitors).length).toLocaleString("en-US");
      fillList(pagesEl, "path");
      fillList(refsEl, "referrer");
    };
    var cell = function (tr, text) {
      var td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
      return td;
    };
    // times as everywhere else in the dashboard: 24-hour, the website's zone
    var clock;
    try {
      clock = new Intl.DateTimeFormat("en-GB", { timeZone: rt.dataset.zone || "UTC", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    } catch (err) {
      clock = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    }
    var addRow = function (e, fresh) {
      var tr = document.createElement("tr");
      if (fresh) tr.className = "fresh";
      cell(tr, clock.format(new Date(e.time)));
      cell(tr, e.type === "pageView" ? "Page view" : e.eventName || e.type);
      cell(tr, e.path).className = "val";
      cell(tr, e.visitor);
      cell(tr, e.country);
      cell(tr, e.device);
      cell(tr, e.browser);
      cell(tr, e.referrer || "(direct)").className = "val";
      eventsEl.insertBefore(tr, eventsEl.firstChild);
      while (eventsEl.rows.length > maxRows) eventsEl.deleteRow(-1);
    };
    var src = new EventSource(rt.dataset.stream);
    src.addEventListener("open", function () { status.textContent = "Connected: new events appear as they are stored."; });
    src.addEventListener("error", function () { status.textContent = "Reconnecting…"; });
    src.addEventListener("snapshot", function (m) {
      var d = JSON.parse(m.data);
      // a (re)connection starts over from the server's view
      visitors = {};
      (d.visitors || []).forEach(function (v) {
        visitors[v.visitor] = { path: v.path, referrer: v.referrer, seen: Date.parse(v.lastActivity) };
      });
      extra = Math.max(0, d.activeVisitors - (d.visitors || []).length);
      // the latest events, oldest first so that the newest ends on top
      eventsEl.textContent = "";
      (d.recent || []).slice().reverse().forEach(function (e) { addRow(e, false); });
      redraw();
    });
    src.addEventListener("dropped", function (m) {
      var d = JSON.parse(m.data);
      status.textContent = d.dropped + " events were skipped (the page could not keep up).";
    });
    src.addEventListener("message", function (m) {
      var e = JSON.parse(m.data);
      if (e.visitor) {
        var v = visitors[e.visitor];
        visitors[e.visitor] = {
          path: e.type === "pageView" || !v ? e.path : v.path,
          referrer: e.referrer, seen: Date.now()
        };
      }
      addRow(e, true);
      redraw();
    });
    setInterval(redraw, 30000);
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

  // Notification rule form: show the fields (custom event name, notifyOn,
  // threshold and its hint) of the chosen event type only. The server
  // checks them whatever is shown.
  var ruleForm = document.getElementById("rule-form");
  if (ruleForm) {
    var eventSel = ruleForm.querySelector("#eventType");
    var syncRule = function () {
      ruleForm.querySelectorAll("[data-for]").forEach(function (el) {
        el.hidden = el.dataset.for.split(" ").indexOf(eventSel.value) < 0;
      });
    };
    syncRule();
    eventSel.addEventListener("change", syncRule);
  }
})();

// Forms that delete, revoke or hand something over ask first
// (data-confirm holds the question); without script they submit as is.
document.addEventListener('submit', function (e) {
  var q = e.target.getAttribute && e.target.getAttribute('data-confirm');
  if (q && !window.confirm(q)) e.preventDefault();
});

// The chart's crosshair and tooltip: the values of every series at the
// step under the pointer. The values come from the steps' data
// attributes and are set as text, never as HTML.
document.querySelectorAll(".plot-box").forEach(function (box) {
  var svg = box.querySelector("svg"), cross = box.querySelector(".cross"), tip = box.querySelector(".chart-tip");
  if (!svg || !cross || !tip) return;
  box.querySelectorAll(".hit").forEach(function (hit) {
    var title = hit.querySelector("title");
    if (title) { hit.setAttribute("aria-label", title.textContent); title.remove(); } // one tooltip, not two
  });
  var show = function (hit) {
    var x = hit.getAttribute("data-x");
    cross.setAttribute("x1", x);
    cross.setAttribute("x2", x);
    cross.setAttribute("visibility", "visible");
    tip.textContent = "";
    var head = document.createElement("strong");
    head.textContent = hit.getAttribute("data-label") + (hit.hasAttribute("data-partial") ? " (so far)" : "");
    tip.appendChild(head);
    [["pv", "Page views"], ["vis", "Visitors"]].forEach(function (s) {
      var row = document.createElement("div"), key = document.createElement("span");
      key.className = "key " + s[0];
      row.appendChild(key);
      row.appendChild(document.createTextNode(" " + s[1] + ": " + hit.getAttribute("data-" + s[0])));
      tip.appendChild(row);
    });
    tip.hidden = false;
    tip.style.left = Math.min(Math.max(parseFloat(x) / 10, 12), 88) + "%";
  };
  svg.addEventListener("mouseover", function (e) {
    if (e.target.classList && e.target.classList.contains("hit")) show(e.target);
  });
  svg.addEventListener("mouseleave", function () {
    cross.setAttribute("visibility", "hidden");
    tip.hidden = true;
  });
});

// Theme: the CSS follows the system's light or dark preference by itself;
// a choice made with the header's button (system → dark → light) is kept
// in this browser's localStorage and set as data-theme on <html>. The
// button stays hidden without this script, which it needs.
(function () {
  var root = document.documentElement;
  var key = "skopos-theme";
  var stored = function () {
    try { return localStorage.getItem(key) || ""; } catch (e) { return ""; }
  };
  var theme = "";
  var btn = document.getElementById("theme-toggle");
  var apply = function (v) {
    theme = v === "dark" || v === "light" ? v : "";
    if (theme) root.setAttribute("data-theme", theme); else root.removeAttribute("data-theme");
    if (btn) btn.textContent = "Theme: " + (theme || "system");
  };
  apply(stored());
  // another tab changed it
  window.addEventListener("storage", function (e) { if (e.key === key) apply(e.newValue); });
  if (!btn) return;
  btn.hidden = false;
  btn.addEventListener("click", function () {
    apply({ "": "dark", dark: "light", light: "" }[theme]);
    try {
      if (theme) localStorage.setItem(key, theme); else localStorage.removeItem(key);
    } catch (e) { /* storage off: the choice lasts for this page */ }
  });
})();

// Report card tabs switch in place (each tab is also a link that works
// without JavaScript); arrow keys move between the tabs of a box.
document.querySelectorAll('[role="tablist"]').forEach(list => {
  const tabs = [...list.querySelectorAll('[role="tab"]')];
  const select = tab => {
    tabs.forEach(t => {
      const on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      const panel = document.getElementById(t.getAttribute('aria-controls'));
      if (panel) panel.hidden = !on;
    });
    history.replaceState(null, '', tab.href);
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', ev => { ev.preventDefault(); select(tab); });
    tab.addEventListener('keydown', ev => {
      const step = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      ev.preventDefault();
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      select(next);
    });
  });
});

// The chart's metric and previous period: with one metric chosen (by a
// KPI tile), the tooltip shows its figure in place of the two counts;
// with a previous series, it adds the previous period's figure and step.
// Runs after the crosshair's handler above (registered later on the same
// element) and, like it, sets text only.
document.querySelectorAll(".chart[data-metric]").forEach(function (chart) {
  var svg = chart.querySelector(".plot"), tip = chart.querySelector(".chart-tip");
  if (!svg || !tip) return;
  var metric = chart.getAttribute("data-metric"), label = chart.getAttribute("data-metric-label");
  var row = function (cls, text) {
    var div = document.createElement("div"), key = document.createElement("span");
    key.className = "key " + cls;
    div.appendChild(key);
    div.appendChild(document.createTextNode(" " + text));
    tip.appendChild(div);
  };
  svg.addEventListener("mouseover", function (e) {
    var hit = e.target;
    if (!hit.classList || !hit.classList.contains("hit")) return;
    if (metric) {
      while (tip.childNodes.length > 1) tip.removeChild(tip.lastChild); // keep the step's name
      row("pv", label + ": " + hit.getAttribute("data-value"));
    }
    if (hit.hasAttribute("data-prev")) row("prev", hit.getAttribute("data-prev"));
  });
});

// "+ Filter": the value field suggests the chosen dimension's top values
// (in the page's period, under its other filters) as one types: a
// listbox under the field, debounced, Up/Down to move, Enter to pick,
// Escape to close. Suggestions are visitors' paths and referrers: set
// with textContent only. Without this script the form is a plain GET
// form and the value is typed.
(() => {
  const form = document.getElementById('filter-form');
  if (!form || !form.dataset.suggest || !window.fetch) return;
  const dim = form.querySelector('#fdim');
  const input = form.querySelector('#fval');
  const list = form.querySelector('#fval-list');
  const details = document.getElementById('add-filter');
  let items = [], active = -1, timer = 0, seq = 0, picked = false;
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('aria-expanded', 'false');
  const mark = i => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute('aria-selected', j === i ? 'true' : 'false'));
    if (i < 0) { input.removeAttribute('aria-activedescendant'); return; }
    input.setAttribute('aria-activedescendant', list.children[i].id);
    list.children[i].scrollIntoView({ block: 'nearest' });
  };
  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    mark(-1);
  };
  const pick = i => { input.value = items[i].label; close(); input.focus(); };
  const show = values => {
    items = values;
    list.replaceChildren(...values.map((v, i) => {
      const li = document.createElement('li');
      li.id = 'fval-opt-' + i;
      li.setAttribute('role', 'option');
      const label = document.createElement('span');
      label.className = 'sugg-label';
      label.textContent = v.label;
      li.append(label);
      if (v.count) {
        const n = document.createElement('span');
        n.className = 'sugg-count';
        n.textContent = v.count.toLocaleString('en-US');
        li.append(n);
      }
      // keep the focus in the field, so that its blur does not close the list first
      li.addEventListener('mousedown', ev => ev.preventDefault());
      li.addEventListener('click', () => pick(i));
      return li;
    }));
    list.hidden = values.length === 0;
    input.setAttribute('aria-expanded', values.length ? 'true' : 'false');
    mark(-1);
  };
  const load = () => {
    const n = ++seq;
    const u = new URL(form.dataset.suggest, location.href);
    u.searchParams.set('dim', dim.value);
    u.searchParams.set('q', input.value);
    fetch(u, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(r => (r.ok ? r.json() : { values: [] }))
      // an answer to an older keystroke, or after the field was left, is dropped
      .then(d => { if (n === seq && document.activeElement === input) show(d.values || []); })
      .catch(() => {});
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(load, 200); };
  input.addEventListener('input', later);
  input.addEventListener('focus', later);
  input.addEventListener('blur', () => { clearTimeout(timer); seq++; close(); });
  dim.addEventListener('change', () => { input.value = ''; close(); });
  input.addEventListener('keydown', ev => {
    const open = !list.hidden && items.length > 0;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (!open) { load(); return; }
      const step = ev.key === 'ArrowDown' ? 1 : -1;
      mark(active < 0 && step < 0 ? items.length - 1 : (active + step + items.length) % items.length);
    } else if (ev.key === 'Enter' && open && active >= 0) {
      ev.preventDefault();
      pick(active);
      picked = true;
    } else if (ev.key === 'Escape' && open) {
      ev.preventDefault();
      close();
    }
  });
  // the Enter that picked a value does not also submit the form (a
  // keypress sent on its own, as assistive tools and CDP do, would)
  input.addEventListener('keypress', ev => { if (ev.key === 'Enter' && picked) ev.preventDefault(); });
  input.addEventListener('keyup', () => { picked = false; });
  if (details) details.addEventListener('toggle', () => { if (details.open) dim.focus(); });
})();
