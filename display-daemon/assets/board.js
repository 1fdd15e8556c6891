// Hall board and counter display: render the daemon's view, pushed on its
// own /stream (server-sent events, `event: state`, the whole view each time).
// EventSource reconnects by itself when the daemon restarts; the first
// message after a reconnect is the whole state again.
//
// Layout: the CSS gives each part of the page a box in viewport units; this
// script picks the tile grid that makes counter numbers largest, pages the
// tiles and the waiting list when they cannot all be shown at a readable
// size (counter numbers at least 6 % of the screen height), and shrinks or
// wraps each text to its box so nothing is clipped. The clock shows the
// center's time zone from the kiosk's snapshot, not the machine's.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var isCounter = document.body.classList.contains("counter-page");
  var params = new URLSearchParams(location.search);
  var chimeParam = params.get("chime");
  // How long each page of tiles or departments stays (tests shorten it).
  var PAGE_MS = Number(params.get("page_ms")) || 8000;
  // Counter numbers on tiles: at least this share of the screen height.
  var MIN_TILE_NUMBER = 0.0605;
  // Tile height per unit of number font: name, number (its line with the
  // font's ascent and descent), department (two lines), padding.
  var TILE_NAME = 0.28, TILE_NUMBER = 1.14, TILE_DEPT = 0.34, TILE_PAD = 0.03;
  // Ticker speed in px per second on a 1920 px wide screen (scaled).
  var TICKER_PX_PER_S = 150;
  var lastSeq = null;      // newest call seq seen; null before the first view
  var lastCounterLabel;    // counter page: the number shown
  var view = null;
  var daemonDown = false;
  var audio = null;
  var keypadTimer = null;
  var tilePage = 0, deptPage = 0;
  var fitCache = {};

  var DAYS = ["Chủ Nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"];
  var WEEKDAY = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
  function two(n) { return (n < 10 ? "0" : "") + n; }

  // ---- the center's clock ------------------------------------------------

  var zone = { name: null, format: null };
  // The wall-clock fields of `d` in the center's zone (the machine's own
  // zone until the kiosk told one, or when the browser does not know it).
  function wall(d) {
    var name = view && view.time_zone ? view.time_zone : "";
    if (name !== zone.name) {
      zone.name = name;
      zone.format = null;
      if (name) {
        try {
          zone.format = new Intl.DateTimeFormat("en-US", {
            timeZone: name, hourCycle: "h23", weekday: "short", year: "numeric",
            month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric"
          });
        } catch (e) { console.error("unknown time zone " + name); }
      }
    }
    if (!zone.format) {
      return { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(),
        mi: d.getMinutes(), s: d.getSeconds(), wd: d.getDay() };
    }
    var p = {};
    zone.format.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    return { y: Number(p.year), mo: Number(p.month), d: Number(p.day), h: Number(p.hour) % 24,
      mi: Number(p.minute), s: Number(p.second), wd: WEEKDAY[p.weekday] };
  }
  function hhmm(d) { var w = wall(d); return two(w.h) + ":" + two(w.mi); }

  function tick() {
    if (!view) return; // the zone is not known before the first view
    var w = wall(new Date());
    $("clock-time").textContent = two(w.h) + ":" + two(w.mi) + ":" + two(w.s);
    $("clock-date").textContent = DAYS[w.wd] + ", " + two(w.d) + "/" + two(w.mo) + "/" + w.y;
  }

  // ---- sound and flash ---------------------------------------------------

  function chime() {
    var wanted = chimeParam === null ? (view && view.chime) : chimeParam !== "0";
    if (!wanted) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var t = audio.currentTime;
      [[880, 0], [660, 0.35]].forEach(function (n) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = n[0];
        gain.gain.setValueAtTime(0.0001, t + n[1]);
        gain.gain.exponentialRampToValueAtTime(0.5, t + n[1] + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + n[1] + 0.32);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(t + n[1]);
        osc.stop(t + n[1] + 0.34);
      });
    } catch (e) { /* no audio device: the flash is enough */ }
  }

  function flash(el) {
    el.classList.remove("flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("flash");
  }

  function renderNotice() {
    var notice = $("link-notice");
    var lost = daemonDown || (view && view.link && view.link.type === "lost");
    notice.hidden = !lost;
    if (lost) {
      var since = view && view.link && view.link.since_ms;
      $("link-since").textContent = since ? " từ " + hhmm(new Date(since)) : "";
    }
  }

  // ---- fitting text ------------------------------------------------------

  function overflows(el) {
    return el.scrollWidth > el.clientWidth + 0.5 || el.scrollHeight > el.clientHeight + 0.5;
  }

  // Sets the largest font size (px, between min and max) at which the
  // element's text fits its box, wrapping between words where the element
  // allows it. Remembers the answer for the same text in the same box.
  function fit(el, max, min) {
    var key = el.textContent + "|" + el.clientWidth + "x" + el.clientHeight + "|" + max.toFixed(1) +
      "|" + getComputedStyle(el).whiteSpace;
    var known = fitCache[key];
    if (known) { el.style.fontSize = known + "px"; return known; }
    el.style.fontSize = max + "px";
    var size = max;
    if (overflows(el)) {
      var lo = min, hi = max;
      for (var i = 0; i < 8; i++) {
        var mid = (lo + hi) / 2;
        el.style.fontSize = mid + "px";
        if (overflows(el)) hi = mid; else lo = mid;
      }
      size = lo;
      el.style.fontSize = size + "px";
    }
    fitCache[key] = size;
    return size;
  }

  // ---- counter tiles -----------------------------------------------------

  // The grid of `n` tiles in a W×H box that makes the number font largest.
  // A bold digit is at most 0.7 em wide in the fonts the page asks for; the
  // tile's border takes `border` px.
  function tileGrid(n, W, H, gapX, gapY, chars) {
    var border = 0.005 * window.innerHeight;
    var best = null;
    for (var cols = 1; cols <= n; cols++) {
      var rows = Math.ceil(n / cols);
      var tw = (W - gapX * (cols - 1)) / cols, th = (H - gapY * (rows - 1)) / rows;
      var num = Math.min((th - border) / (TILE_NUMBER + TILE_NAME + TILE_DEPT + TILE_PAD), (tw - border) / (chars * 0.7));
      if (!best || num > best.num) best = { cols: cols, rows: rows, num: num, th: th };
    }
    return best;
  }

  // How many tiles a page holds and their grid: all of them when their
  // numbers stay readable, otherwise as many as do, in balanced pages.
  function planTiles(n, W, H, gapX, gapY, chars) {
    var min = MIN_TILE_NUMBER * window.innerHeight;
    for (var per = n; per >= 1; per--) {
      var g = tileGrid(per, W, H, gapX, gapY, chars);
      if (g.num >= min || per === 1) {
        var pages = Math.ceil(n / per);
        per = Math.ceil(n / pages);
        g = tileGrid(per, W, H, gapX, gapY, chars);
        g.per = per;
        g.pages = pages;
        return g;
      }
    }
    return { cols: 1, rows: 1, num: 0, th: H, per: 1, pages: n };
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function pagerText(box, page, pages) {
    box.hidden = pages <= 1;
    box.textContent = pages > 1 ? "Trang " + (page + 1) + "/" + pages : "";
  }

  function layoutTiles(v) {
    var tiles = $("tiles");
    var counters = v.counters;
    var latest = v.latest;
    var chars = 4;
    counters.forEach(function (c) { chars = Math.max(chars, (c.label || "").length, String(c.counter).length + 1); });
    var style = getComputedStyle(tiles);
    var gapY = parseFloat(style.rowGap) || 0, gapX = parseFloat(style.columnGap) || 0;
    // Plan with the pager shown if paging is needed (it takes a line).
    var pager = $("tiles-pager");
    pager.hidden = true;
    tiles.textContent = "";
    var plan = planTiles(counters.length, tiles.clientWidth, tiles.clientHeight, gapX, gapY, chars);
    if (plan.pages > 1) {
      pager.hidden = false;
      pager.textContent = "Trang";
      plan = planTiles(counters.length, tiles.clientWidth, tiles.clientHeight, gapX, gapY, chars);
    }
    tilePage = plan.pages > 1 ? tilePage % plan.pages : 0;
    pagerText(pager, tilePage, plan.pages);
    document.body.dataset.tilePages = plan.pages;
    tiles.style.gridTemplateColumns = "repeat(" + plan.cols + ", minmax(0, 1fr))";
    tiles.style.gridTemplateRows = "repeat(" + plan.rows + ", minmax(0, 1fr))";
    var num = Math.min(plan.num, 0.16 * window.innerHeight);
    // Height the number does not need goes to the names, mostly the
    // department's (two lines).
    var nameH = num * TILE_NAME, deptH = num * TILE_DEPT;
    var spare = plan.th - 0.005 * window.innerHeight - num * (TILE_NUMBER + TILE_PAD) - nameH - deptH;
    if (spare > 0) { nameH += spare * 0.3; deptH += spare * 0.6; }
    var shown = counters.slice(tilePage * plan.per, (tilePage + 1) * plan.per);
    var made = shown.map(function (c) {
      var tile = el("div", "tile" + (c.label ? "" : " idle") +
        (latest && latest.counter === c.counter && latest.label === c.label ? " latest-tile" : "") +
        (c.status && c.status !== "open" ? " " + c.status : ""));
      tile.dataset.counter = c.counter;
      tile.dataset.status = c.status || "open";
      var name = el("div", "name", "QUẦY " + c.counter + (c.officer ? " · " + c.officer : ""));
      var number = el("div", "number", c.label || "—");
      var stopped = statusLine(c);
      var dept = el("div", "dept", stopped || c.department || "");
      if (!stopped && c.service) {
        // The ticket's procedure, under its department, a little smaller.
        dept.classList.add("with-service");
        dept.appendChild(el("span", "service", c.service));
      }
      name.style.height = nameH + "px";
      dept.style.height = deptH + "px";
      tile.style.padding = (num * TILE_PAD / 2) + "px 0";
      tile.appendChild(name);
      tile.appendChild(number);
      tile.appendChild(dept);
      tiles.appendChild(tile);
      return { name: name, number: number, dept: dept };
    });
    made.forEach(function (t) {
      fit(t.name, Math.min(nameH * 0.85, num * 0.36), 6);
      fit(t.number, num, num * 0.5);
      fit(t.dept, Math.min(deptH * 0.46, num * 0.3), 6);
    });
  }

  // "Quầy 3 tạm dừng" / "Quầy 3 đã đóng" for a counter not open; "" otherwise.
  function statusLine(c) {
    if (!c || !c.status || c.status === "open") return "";
    return "Quầy " + c.counter + (c.status === "paused" ? " tạm dừng" : " đã đóng");
  }

  // ---- waiting list ------------------------------------------------------

  function planList(n, W, H, maxCols) {
    // Sized on the screen's short side, so a TV hung upright reads alike.
    var side = Math.min(window.innerHeight, window.innerWidth) / 100;
    var minFont = 1.6 * side, maxFont = 3.2 * side;
    for (var per = n; per >= 1; per--) {
      var best = null;
      for (var cols = 1; cols <= maxCols; cols++) {
        var rows = Math.ceil(per / cols);
        // Few departments get comfortable rows, not rows as tall as the box.
        var rowH = Math.min(H / rows, maxFont * 1.6);
        var font = Math.min(rowH / 1.45, maxFont, W / cols / 14);
        if (!best || font > best.font) best = { cols: cols, rows: rows, rowH: rowH, font: font };
      }
      if (best.font >= minFont || per === 1) {
        var pages = Math.ceil(n / per);
        per = Math.ceil(n / pages);
        best.rows = Math.ceil(per / best.cols);
        best.rowH = Math.min(H / Math.max(best.rows, 1), maxFont * 1.6);
        best.per = per;
        best.pages = pages;
        return best;
      }
    }
    return null;
  }

  function layoutWaiting(v) {
    var list = $("waiting");
    list.textContent = "";
    var departments = v.departments;
    var portrait = window.innerHeight > window.innerWidth;
    var plan = planList(departments.length, list.clientWidth, list.clientHeight, portrait ? 3 : 1);
    if (!plan) { document.body.dataset.deptPages = 0; pagerText($("waiting-pager"), 0, 0); return; }
    deptPage = plan.pages > 1 ? deptPage % plan.pages : 0;
    pagerText($("waiting-pager"), deptPage, plan.pages);
    document.body.dataset.deptPages = plan.pages;
    list.style.gridTemplateColumns = "repeat(" + plan.cols + ", minmax(0, 1fr))";
    list.style.gridAutoFlow = "column";
    list.style.gridTemplateRows = "repeat(" + plan.rows + ", " + Math.floor(plan.rowH) + "px)";
    var made = departments.slice(deptPage * plan.per, (deptPage + 1) * plan.per).map(function (d) {
      var item = el("li");
      item.dataset.department = d.department;
      item.style.fontSize = plan.font + "px";
      var name = el("span", "dept", d.name || d.department);
      item.appendChild(name);
      item.appendChild(el("span", "count", String(d.waiting)));
      list.appendChild(item);
      return name;
    });
    made.forEach(function (name) { fit(name, plan.font, plan.font * 0.45); });
  }

  // ---- recent calls and the announcement line ----------------------------

  function layoutRecent(v) {
    var calls = $("calls");
    calls.textContent = "";
    var earlier = v.last_calls.slice(1, 10);
    $("recent").hidden = earlier.length === 0;
    earlier.forEach(function (c) {
      var item = el("li");
      item.appendChild(el("span", "num", c.label));
      item.appendChild(el("span", "to", " → Quầy " + c.counter));
      calls.appendChild(item);
    });
    // Whole calls only: drop from the oldest until the line fits.
    while (calls.lastChild && calls.scrollWidth > calls.clientWidth + 0.5) {
      calls.removeChild(calls.lastChild);
    }
  }

  var tickerShown = null;
  function layoutTicker(v) {
    var box = $("ticker"), track = $("ticker-track");
    var text = v.announcement || "";
    box.hidden = !text;
    var key = text + "|" + window.innerWidth + "x" + window.innerHeight;
    if (!text || key === tickerShown) return;
    tickerShown = key;
    track.textContent = text;
    var from = box.clientWidth, to = -track.scrollWidth;
    var scale = window.innerWidth / 1920;
    track.style.setProperty("--ticker-from", from + "px");
    track.style.setProperty("--ticker-to", to + "px");
    var seconds = (from - to) / (TICKER_PX_PER_S * scale);
    track.style.setProperty("--ticker-s", seconds.toFixed(1) + "s");
    // Start with the text already in view, near the left edge.
    track.style.animationDelay = (-seconds * (from - 0.02 * from) / (from - to)).toFixed(2) + "s";
  }

  // ---- the hall board ----------------------------------------------------

  function layoutHall() {
    if (!view) return;
    var v = view;
    var latest = v.latest;
    var vh = window.innerHeight / 100;
    var portrait = window.innerHeight > window.innerWidth;
    layoutTicker(v);
    layoutRecent(v);
    if (latest) fit($("latest-dept"), (portrait ? 1.8 : 2.8) * vh, 0.9 * vh);
    fit($("center-name"), (portrait ? 2.4 : 3.4) * vh, 1.2 * vh);
    layoutTiles(v);
    layoutWaiting(v);
  }

  function renderHall(v, isNew) {
    if (v.center) $("center-name").textContent = v.center.toLocaleUpperCase("vi");
    var latest = v.latest;
    var box = $("latest");
    box.classList.toggle("empty", !latest);
    $("latest-number").textContent = latest ? latest.label : "—";
    $("latest-counter").textContent = latest ? latest.counter : "—";
    var dept = $("latest-dept");
    dept.textContent = latest ? latest.department : "";
    if (latest && latest.service) {
      dept.appendChild(el("span", "service", " – " + latest.service));
    }
    if (isNew) flash(box);
    layoutHall();
  }

  function nextPage() {
    if (!view || isCounter) return;
    var tiles = Number(document.body.dataset.tilePages || 1);
    var depts = Number(document.body.dataset.deptPages || 1);
    if (tiles <= 1 && depts <= 1) return;
    tilePage = tiles > 1 ? (tilePage + 1) % tiles : 0;
    deptPage = depts > 1 ? (deptPage + 1) % depts : 0;
    if (tiles > 1) layoutTiles(view);
    if (depts > 1) layoutWaiting(view);
  }

  // ---- the counter display -----------------------------------------------

  function layoutCounter() {
    var vh = window.innerHeight / 100;
    fit($("counter-title"), 3.4 * vh, 1.5 * vh);
    fit($("counter-caption"), 6 * vh, 2 * vh);
    fit($("counter-number"), 40 * vh, 8 * vh);
    fit($("counter-department"), 5 * vh, 2 * vh);
    var service = $("counter-service");
    if (service && !service.hidden) fit(service, 4 * vh, 1.6 * vh);
  }

  function renderCounter(v, isNew) {
    var n = params.get("n") ? Number(params.get("n")) : v.focus_counter;
    var c = null;
    v.counters.forEach(function (x) { if (x.counter === n) c = x; });
    $("counter-title").textContent = (n ? "QUẦY " + n : "QUẦY") + (c && c.officer ? " — " + c.officer : "");
    document.body.dataset.status = (c && c.status) || "open";
    document.title = n ? "Quầy " + n : "Quầy";
    var label = c && c.label ? c.label : "—";
    var numEl = $("counter-number");
    numEl.textContent = label;
    var stopped = statusLine(c);
    $("counter-caption").textContent = stopped ? stopped
      : c && c.label ? (c.serving ? "Đang phục vụ số" : "Mời số") : "Chưa có số";
    $("counter-department").textContent = stopped ? (c.pause_reason || "")
      : c && c.department ? c.department : "";
    var service = $("counter-service");
    service.textContent = !stopped && c && c.label && c.service ? c.service : "";
    service.hidden = !service.textContent;
    if (lastCounterLabel !== undefined && (label !== lastCounterLabel ||
        (isNew && v.latest && v.latest.counter === n))) {
      flash(numEl);
      chime();
    }
    lastCounterLabel = label;

    var k = v.keypad, box = $("keypad");
    if (k && Date.now() - k.at_ms < 5000) {
      box.textContent = k.message;
      box.classList.toggle("refused", !k.ok);
      box.hidden = false;
      clearTimeout(keypadTimer);
      keypadTimer = setTimeout(function () { box.hidden = true; layoutCounter(); }, 5000 - (Date.now() - k.at_ms));
    } else {
      box.hidden = true;
    }
    layoutCounter();
  }

  function render(v) {
    view = v;
    var seq = v.latest ? v.latest.seq : 0;
    var isNew = lastSeq !== null && seq > lastSeq;
    if (lastSeq === null || seq > lastSeq || seq === 0) lastSeq = seq;
    tick();
    if (isCounter) {
      renderCounter(v, isNew);
    } else {
      renderHall(v, isNew);
      if (isNew) chime();
    }
    renderNotice();
    document.body.dataset.version = v.version;
  }

  function connect() {
    var es = new EventSource("/stream");
    es.addEventListener("state", function (e) {
      daemonDown = false;
      try { render(JSON.parse(e.data)); } catch (err) { console.error(err); }
    });
    es.onerror = function () {
      daemonDown = true;
      renderNotice();
      if (es.readyState === EventSource.CLOSED) {
        setTimeout(connect, 2000);
      }
    };
  }

  window.addEventListener("resize", function () {
    fitCache = {};
    if (!view) return;
    if (isCounter) layoutCounter(); else layoutHall();
  });
  setInterval(tick, 1000);
  setInterval(nextPage, PAGE_MS);
  connect();
})();
