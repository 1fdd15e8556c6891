// Hall board and counter display: render the daemon's view, pushed on its
// own /stream (server-sent events, `event: state`, the whole view each time).
// EventSource reconnects by itself when the daemon restarts; the first
// message after a reconnect is the whole state again.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var isCounter = document.body.classList.contains("counter-page");
  var params = new URLSearchParams(location.search);
  var chimeParam = params.get("chime");
  var lastSeq = null;      // newest call seq seen; null before the first view
  var lastCounterLabel;    // counter page: the number shown
  var view = null;
  var daemonDown = false;
  var audio = null;
  var keypadTimer = null;

  var DAYS = ["Chủ Nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"];
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function hhmm(d) { return two(d.getHours()) + ":" + two(d.getMinutes()); }

  function tick() {
    var d = new Date();
    $("clock-time").textContent = hhmm(d) + ":" + two(d.getSeconds());
    $("clock-date").textContent = DAYS[d.getDay()] + ", " + two(d.getDate()) + "/" +
      two(d.getMonth() + 1) + "/" + d.getFullYear();
  }

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

  function li(parts) {
    var item = document.createElement("li");
    parts.forEach(function (p) {
      var span = document.createElement("span");
      span.className = p[0];
      span.textContent = p[1];
      item.appendChild(span);
    });
    return item;
  }

  function renderHall(v, isNew) {
    if (v.center) $("center-name").textContent = v.center.toLocaleUpperCase("vi");
    var latest = v.latest;
    var box = $("latest");
    box.classList.toggle("empty", !latest);
    $("latest-number").textContent = latest ? latest.label : "—";
    $("latest-counter").textContent = latest ? latest.counter : "—";
    if (isNew) flash(box);

    var tiles = $("tiles");
    tiles.textContent = "";
    v.counters.forEach(function (c) {
      var tile = document.createElement("div");
      tile.className = "tile" + (c.label ? "" : " idle") +
        (latest && latest.counter === c.counter && latest.label === c.label ? " latest-tile" : "");
      tile.dataset.counter = c.counter;
      var name = document.createElement("div");
      name.className = "name";
      name.textContent = "QUẦY " + c.counter;
      var num = document.createElement("div");
      num.className = "number";
      num.textContent = c.label || "—";
      var dept = document.createElement("div");
      dept.className = "dept";
      dept.textContent = c.department || "";
      tile.appendChild(name);
      tile.appendChild(num);
      tile.appendChild(dept);
      tiles.appendChild(tile);
    });

    var calls = $("calls");
    calls.textContent = "";
    v.last_calls.slice(0, 8).forEach(function (c) {
      calls.appendChild(li([["num", c.label], ["to", "→ Quầy " + c.counter]]));
    });
    var waiting = $("waiting");
    waiting.textContent = "";
    v.departments.forEach(function (d) {
      waiting.appendChild(li([["dept", d.name || d.department], ["count", String(d.waiting)]]));
    });
  }

  function renderCounter(v, isNew) {
    var n = params.get("n") ? Number(params.get("n")) : v.focus_counter;
    var c = null;
    v.counters.forEach(function (x) { if (x.counter === n) c = x; });
    $("counter-title").textContent = n ? "QUẦY " + n : "QUẦY";
    document.title = n ? "Quầy " + n : "Quầy";
    var label = c && c.label ? c.label : "—";
    var numEl = $("counter-number");
    numEl.textContent = label;
    $("counter-caption").textContent = c && c.label ? (c.serving ? "Đang phục vụ số" : "Mời số") : "Chưa có số";
    $("counter-department").textContent = c && c.department ? c.department : "";
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
      keypadTimer = setTimeout(function () { box.hidden = true; }, 5000 - (Date.now() - k.at_ms));
    } else {
      box.hidden = true;
    }
  }

  function render(v) {
    view = v;
    var seq = v.latest ? v.latest.seq : 0;
    var isNew = lastSeq !== null && seq > lastSeq;
    if (lastSeq === null || seq > lastSeq || seq === 0) lastSeq = seq;
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

  tick();
  setInterval(tick, 1000);
  connect();
})();
