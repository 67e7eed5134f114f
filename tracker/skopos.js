// Skopos browser script: page views, custom events and JavaScript errors,
// sent as a JSON body to the Skopos event endpoint.
//
//   <script defer src="/skopos.js" data-endpoint="/api/event"></script>
//
// No cookies, no storage, no identifiers: the server derives the visitor.
// The source is readable on purpose; tracker/skopos.min.js is built from it
// with `go generate ./tracker`.
(function () {
  var w = window, d = document, n = navigator, l = location, h = history;
  // currentScript is null in module scripts: look the tag up instead.
  var s = d.currentScript || d.querySelector('script[src*="skopos"]');
  var src = (s && s.src) || "";
  var attr = function (k) {
    return s && s.getAttribute("data-" + k);
  };
  var old = w.skopos;
  if (old && old.v) return; // loaded twice: the first copy does the work
  var queue = (old && old.q) || [];
  var noop = function () {};
  var install = function (f) {
    f.v = 1;
    w.skopos = f;
  };

  if (
    attr("respect-dnt") == "true" &&
    (n.doNotTrack == "1" || w.doNotTrack == "1" || n.globalPrivacyControl === true)
  ) {
    install(noop); // the visitor opted out: queued and later calls do nothing
    return;
  }

  // A relative endpoint belongs to the server that served this script, which
  // is not the page's when the script is loaded cross-origin.
  var endpoint = new URL(attr("endpoint") || "/api/event", src || l.href).href;
  var hashMode = attr("hash-mode") == "true";
  var sending = 0; // set while this script sends: its own failures are never reported (that would loop)
  var errors = 0; // jsErrors sent from this page, capped so a throwing loop cannot flood

  function send(type, extra) {
    var ok, body;
    sending = 1;
    try {
      body = JSON.stringify(
        Object.assign(
          {
            type: type,
            url: l.href,
            referrer: d.referrer,
            screenWidth: screen.width,
            screenHeight: screen.height,
            language: n.language,
          },
          extra
        )
      );
      try {
        // text/plain is CORS-safelisted: no preflight, also cross-origin.
        ok = n.sendBeacon(endpoint, new Blob([body], { type: "text/plain;charset=UTF-8" }));
      } catch (e) {} // missing or throwing: fall back below
      if (!ok)
        // A refused beacon (queue full) is retried, not lost; a rejection,
        // e.g. offline, is swallowed so it never becomes an
        // unhandledrejection that would be reported, and so on.
        fetch(endpoint, {
          method: "POST",
          keepalive: true,
          credentials: "omit",
          headers: { "Content-Type": "text/plain;charset=UTF-8" },
          body: body,
        }).catch(noop);
    } catch (e) {
    } finally {
      sending = 0;
    }
  }

  // custom sends an event under one of the reserved names.
  function custom(name, data) {
    send("custom", { name: name, customData: data });
  }

  // Engagement ----------------------------------------------------------

  // Engaged time counts while the page is visible and focused and the last
  // input is under 30 s old. It is accounted when something happens (an
  // input, a visibility or focus change, a beacon), never by a timer: an
  // idle page costs nothing. pid names the page view, so that the server
  // can attach the beacon to it; the values are cumulative, and the
  // server keeps the largest it has seen.
  var engage = attr("engagement") != "false";
  var pid, engagedMs, mark, active, lastInput, scroll, sent;

  function account(input) {
    var t = Date.now();
    if (active) engagedMs += Math.max(0, Math.min(t, lastInput + 3e4) - mark);
    mark = t;
    var was = active;
    active = d.visibilityState == "visible" && d.hasFocus();
    // coming back to the page counts as input
    if (input || (active && !was)) lastInput = t;
    var h = d.documentElement.scrollHeight;
    scroll = Math.max(scroll, h > innerHeight ? Math.min(100, Math.round(((scrollY + innerHeight) / h) * 100)) : 100);
  }

  // leave sends what the current page view has gathered, when it changed.
  function leave() {
    if (!pid) return;
    account();
    var v = [pid, Math.round(engagedMs), scroll];
    if (v + "" != sent) {
      sent = v + "";
      send("engagement", { pid: pid, engagedMs: v[1], scroll: scroll });
    }
  }

  // Page views: the path (plus the fragment in hash mode) must change for
  // an automatic one; a manual skopos("pageview") always sends.
  var last;
  function pageView(force) {
    var key = l.pathname + (hashMode ? l.hash : "");
    if (force || key != last) {
      last = key;
      if (engage) {
        leave(); // the page view being replaced (SPA navigation)
        pid = Array.from(crypto.getRandomValues(new Uint8Array(16)), function (b) {
          return (b % 36).toString(36);
        }).join("");
        engagedMs = scroll = 0;
        active = 0;
        account(1);
      }
      send("pageView", { name: l.pathname, pid: pid });
      // the site marks its "not found" page; an SPA must render the
      // marker before it changes the URL
      if (auto.indexOf("404") >= 0 && d.querySelector('[data-404],meta[name="skopos:404"]')) custom("404", {});
    }
  }

  // Errors --------------------------------------------------------------

  // describe turns anything thrown or logged into a non-empty message; an
  // Error object's fields are not enumerable, so JSON would give "{}".
  function describe(x) {
    if (x instanceof Error) return x.name + (x.message ? ": " + x.message : "");
    if (typeof x == "string") return x;
    try {
      var j = JSON.stringify(x);
      if (j && j != "{}") return j;
    } catch (e) {}
    return String(x);
  }

  function jsError(message, stack) {
    if (sending || errors >= 20) return;
    errors++;
    send("jsError", {
      // the server refuses an empty or over-long message
      errorMessage: (String(message || "") || "Script error.").slice(0, 1024),
      stackTrace: String(stack || "").slice(0, 16384),
    });
  }

  w.addEventListener("error", function (e) {
    // resource load errors do not bubble to window; errors in this file are
    // never reported (no feedback loop)
    if (src && e.filename == src) return;
    var err = e.error;
    jsError(
      e.message || (err && describe(err)),
      // cross-origin "Script error." has no stack: keep the location so the
      // server can still group it
      (err && err.stack) || (e.filename ? "    at " + e.filename + ":" + e.lineno + ":" + e.colno : "")
    );
  });

  w.addEventListener("unhandledrejection", function (e) {
    var r = e.reason;
    jsError(r === undefined ? "Unhandled promise rejection" : describe(r), r && r.stack);
  });

  if (attr("capture-console") == "true") {
    var original = console.error;
    var busy = 0;
    console.error = function () {
      original.apply(console, arguments);
      if (busy) return;
      busy = 1;
      try {
        var args = [].slice.call(arguments);
        var withStack = args.filter(function (a) {
          return a instanceof Error;
        })[0];
        // drop this wrapper's frames so the server groups by the caller's
        // line in every engine (V8 puts the message on the first line)
        var stack = ((withStack || Error()).stack || "")
          .split("\n")
          .filter(function (line) {
            return !src || line.indexOf(src) < 0;
          })
          .join("\n");
        jsError(args.map(describe).join(" "), stack);
      } catch (e) {
      } finally {
        busy = 0;
      }
    };
  }

  // Declarative events ---------------------------------------------------

  var bound = new WeakSet();

  // value reads what skopos-data-from points at; passwords are never read.
  function value(el) {
    if (el.type == "password") return;
    var v = /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) ? el.value : el.textContent;
    return (v || "").trim().slice(0, 500); // customData is capped at 8 KiB
  }

  function bind(el) {
    if (bound.has(el)) return;
    bound.add(el);
    el.addEventListener(el.getAttribute("skopos-event-on") || "click", function () {
      try {
        // attributes are read when the event fires: later changes count
        var name = el.getAttribute("skopos-event"),
          data = {},
          from = el.getAttribute("skopos-data-from") || "";
        if (!name) return;
        try {
          data = JSON.parse(el.getAttribute("skopos-data") || "{}");
        } catch (e) {}
        if (!data || typeof data != "object" || Array.isArray(data)) data = {};
        // "key:selector" pairs; ";" separates them when present, so
        // selectors may contain commas, and only the first ":" splits, so
        // they may contain pseudo-classes
        from.split(from.indexOf(";") < 0 ? "," : ";").forEach(function (pair) {
          var i = pair.indexOf(":"),
            key = pair.slice(0, i).trim(),
            target;
          if (i < 1 || !key) return;
          try {
            target = d.querySelector(pair.slice(i + 1).trim());
          } catch (e) {} // invalid selector
          var v = target && value(target);
          if (v != null) data[key] = v;
        });
        send("custom", { name: name, customData: data });
      } catch (e) {}
    });
  }

  // scan binds root itself and its descendants (an added element that
  // carries skopos-event is bound too).
  function scan(root) {
    if (root.nodeType != 1) return;
    if (root.hasAttribute("skopos-event")) bind(root);
    root.querySelectorAll("[skopos-event]").forEach(bind);
  }

  // Automatic events ----------------------------------------------------

  // Opt-in by data-auto="outbound downloads 404 forms".
  var auto = (attr("auto") || "").split(" ");
  var extensions = (
    attr("download-extensions") ||
    "pdf xlsx docx txt rtf csv exe key pps ppt pptx 7z pkg rar gz zip avi mov mp4 mpeg wmv midi mp3 wav wma dmg iso msi"
  ).split(" ");

  // link reports a click (or a middle click) on a link: a download by its
  // path's extension, wherever it points, else an outbound link. The URL
  // is sent without query or fragment, which often carry tokens or
  // e-mail addresses; the beacon survives the navigation that follows.
  function link(e) {
    try {
      var a = e.target.closest("a[href]");
      if (!a || (e.type == "auxclick" && e.button != 1)) return;
      var u = new URL(a.getAttribute("href"), d.baseURI),
        url = u.origin + u.pathname,
        ext = /\.([^./]+)$/.exec(u.pathname);
      if (!/^https?:$/.test(u.protocol)) return;
      if (auto.indexOf("downloads") >= 0 && ext && extensions.indexOf(ext[1].toLowerCase()) >= 0)
        custom("File Download", { url: url });
      else if (auto.indexOf("outbound") >= 0 && u.host != l.host)
        custom("Outbound Link: Click", { url: url, host: u.host });
    } catch (e) {}
  }

  // Start ---------------------------------------------------------------

  function start() {
    if (engage) {
      ["mousemove", "keydown", "scroll", "touchstart", "click"].forEach(function (t) {
        d.addEventListener(
          t,
          function () {
            pid && account(1);
          },
          { capture: true, passive: true }
        );
      });
      ["focus", "blur"].forEach(function (t) {
        w.addEventListener(t, function () {
          pid && account();
        });
      });
      d.addEventListener("visibilitychange", function () {
        d.visibilityState == "hidden" ? leave() : pid && account();
      });
      w.addEventListener("pagehide", leave);
    }
    d.addEventListener("click", link, true);
    d.addEventListener("auxclick", link, true);
    // field values are never read: the form's id or name only
    if (auto.indexOf("forms") >= 0)
      d.addEventListener(
        "submit",
        function (e) {
          var f = e.target;
          custom("Form: Submit", { form: f.getAttribute("id") || f.getAttribute("name") || "(unnamed)" });
        },
        true
      );

    if (attr("auto-track-pageviews") != "false") {
      ["pushState", "replaceState"].forEach(function (m) {
        var orig = h[m];
        h[m] = function () {
          var r = orig.apply(this, arguments);
          pageView();
          return r;
        };
      });
      w.addEventListener("popstate", function () {
        pageView();
      });
      if (hashMode)
        w.addEventListener("hashchange", function () {
          pageView();
        });
      pageView();
    }

    scan(d.documentElement);
    if (attr("observe-dom") != "false" && w.MutationObserver)
      new MutationObserver(function (records) {
        records.forEach(function (r) {
          if (r.type == "attributes") scan(r.target);
          r.addedNodes.forEach(scan);
        });
      }).observe(d.documentElement, {
        childList: true,
        subtree: true,
        attributes: true,
        attributeFilter: ["skopos-event"],
      });

    // Commands queued before the script loaded run now, in order, after the
    // first page view.
    install(function (cmd, name, data, o) {
      try {
        if (cmd == "pageview") pageView(1);
        else if (cmd == "event" && typeof name == "string" && name)
          send("custom", {
            name: name,
            customData: data && typeof data == "object" && !Array.isArray(data) ? data : {},
            // skopos("event", "Purchase", {}, {revenue: {amount: "29.99",
            // currency: "EUR"}, orderId: "A-1"}); undefined ones are not sent
            revenue: (o = o || {}).revenue,
            orderId: o.orderId,
          });
      } catch (e) {}
    });
    queue.forEach(function (args) {
      w.skopos.apply(null, args);
    });
  }

  // Until the document is interactive, calls keep queuing in order.
  if (old) old.q = queue;
  else
    install(function () {
      queue.push(arguments);
    });
  if (d.readyState == "loading") d.addEventListener("DOMContentLoaded", start);
  else start();
})();
