// The touch page: department → service → priority → ticket, then back to
// the start after a few seconds without a touch. Every press goes to
// POST /api/v1/touch/press, which takes the buttons' path (printer checked
// first, no number used on a fault). A USB QR scanner types like a
// keyboard: what it types ends with Enter and is sent to the kiosk, which
// reads only the birth date; the page keeps the string in memory until
// the press or the return to the start, and never stores it.
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  // A touch screen on another machine uses a `touch` device token.
  var token = params.get("token");
  var view = null;
  var chosen = { department: null, service: null };
  var card = null; // the scanned QR string, until the press or the reset
  var cardGrant = null; // the priority class the kiosk said it grants
  var idleTimer = null;
  var busy = false;

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: method, headers: headers, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        return { status: r.status, body: j };
      });
    });
  }

  var SCREENS = ["start", "closed", "services", "priority", "wait", "ticket", "message"];
  function show(name) {
    SCREENS.forEach(function (s) { $("screen-" + s).hidden = s !== name; });
    document.body.dataset.screen = name;
    armIdle();
  }

  function current() { return document.body.dataset.screen || "start"; }

  // Back to the start after `idle_seconds` without a touch, from anywhere
  // but the start itself.
  function armIdle() {
    if (idleTimer) clearTimeout(idleTimer);
    var secs = view ? view.idle_seconds : 8;
    idleTimer = setTimeout(function () {
      if (current() !== "start" && current() !== "closed" && !busy) reset();
    }, secs * 1000);
  }

  function reset() {
    chosen = { department: null, service: null };
    forgetCard();
    if (view) drawStart();
    show(view && !view.open ? "closed" : "start");
    refresh();
  }

  function forgetCard() {
    card = null;
    cardGrant = null;
    $("card-notice").hidden = true;
  }

  function tile(title, sub, cls, onTouch) {
    var b = el("button", "tile " + (cls || ""));
    b.type = "button";
    b.appendChild(el("span", "name", title));
    if (sub) b.appendChild(el("span", "sub", sub));
    if (onTouch) b.addEventListener("click", onTouch);
    return b;
  }

  function drawStart() {
    var grid = $("departments");
    grid.textContent = "";
    view.departments.forEach(function (d) {
      var t;
      if (d.open) {
        var sub = d.waiting > 0 ? "Đang chờ: " + d.waiting + " người" : "Không có người chờ";
        t = tile(d.name, sub, "", function () { pickDepartment(d); });
      } else {
        t = tile(d.name, d.closed_message + (d.hours ? " · Giờ làm việc: " + d.hours : ""), "closed");
        t.disabled = true;
        t.setAttribute("aria-disabled", "true");
      }
      t.dataset.department = d.id;
      grid.appendChild(t);
    });
    $("cccd-hint").hidden = !view.cccd;
  }

  // Nothing is open: say why and when, and still list every department.
  function drawClosed() {
    var first = view.departments[0];
    $("closed-title").textContent = first ? first.closed_message : "Ngoài giờ làm việc";
    $("closed-hours").textContent = first && first.hours ? "Giờ làm việc: " + first.hours : "";
    var grid = $("closed-departments");
    grid.textContent = "";
    view.departments.forEach(function (d) {
      var t = tile(d.name, null, "closed");
      t.disabled = true;
      t.dataset.department = d.id;
      grid.appendChild(t);
    });
  }

  function drawPrinter() {
    var bar = $("printer-bar");
    var p = view.printer;
    bar.hidden = p.ready;
    bar.textContent = p.ready ? "" : p.message;
  }

  function refresh() {
    return api("GET", "/api/v1/touch/state").then(function (r) {
      if (r.status !== 200) {
        $("printer-bar").hidden = false;
        $("printer-bar").textContent = "Máy tạm thời không cấp được số. Xin vui lòng liên hệ cán bộ hướng dẫn.";
        return;
      }
      view = r.body;
      $("center-name").textContent = view.center;
      $("clock").textContent = view.clock;
      drawPrinter();
      var s = current();
      if (s === "start" || s === "closed") {
        if (view.open) { drawStart(); show("start"); } else { drawClosed(); show("closed"); }
      }
    }).catch(function () {
      $("printer-bar").hidden = false;
      $("printer-bar").textContent = "Mất kết nối với máy lấy số — đang thử lại…";
    });
  }

  function pickDepartment(d) {
    chosen.department = d;
    chosen.service = null;
    if (d.services.length) {
      $("services-title").textContent = d.name;
      var grid = $("services");
      grid.textContent = "";
      d.services.forEach(function (s) {
        var t = tile(s.name, s.note, "", function () { pickService(s); });
        t.dataset.service = s.id;
        grid.appendChild(t);
      });
      var other = tile("Thủ tục khác", null, "plain", function () { pickService(null); });
      other.dataset.service = "";
      grid.appendChild(other);
      show("services");
    } else {
      pickService(null);
    }
  }

  function pickService(s) {
    chosen.service = s;
    var offers = s ? s.priority : chosen.department.priority;
    if (offers && cardGrant) {
      press(cardGrant);
    } else if (offers && view.self_declared_priority && view.priority_classes.length) {
      var grid = $("priorities");
      grid.textContent = "";
      var none = tile("Không ưu tiên", null, "plain", function () { press(null); });
      none.dataset.priority = "";
      grid.appendChild(none);
      view.priority_classes.forEach(function (c) {
        var t = tile(c.name, null, "priority", function () { press(c.id); });
        t.dataset.priority = c.id;
        grid.appendChild(t);
      });
      show("priority");
    } else {
      press(null);
    }
  }

  function press(priority) {
    if (busy) return;
    busy = true;
    show("wait");
    var body = { department: chosen.department.id };
    if (chosen.service) body.service = chosen.service.id;
    var offers = chosen.service ? chosen.service.priority : chosen.department.priority;
    // The kiosk decides the card's priority itself: it gets the scan again.
    if (card && offers) body.cccd = card;
    else if (priority && priority !== cardGrant) body.priority = priority;
    forgetCard();
    api("POST", "/api/v1/touch/press", body).then(function (r) {
      busy = false;
      if (r.status === 200) {
        var t = r.body;
        $("ticket-number").textContent = t.label;
        $("ticket-department").textContent = t.department;
        $("ticket-service").textContent = t.service || "";
        $("ticket-service").hidden = !t.service;
        $("ticket-priority").textContent = t.priority ? "Ưu tiên: " + t.priority : "";
        $("ticket-priority").hidden = !t.priority;
        $("ticket-message").textContent = t.message;
        $("ticket-print").textContent = t.printed
          ? "Vui lòng nhận phiếu in bên dưới và chờ gọi số."
          : t.print_message;
        show("ticket");
      } else {
        $("message-text").textContent = (r.body && r.body.error) ||
          "Máy tạm thời không cấp được số. Xin vui lòng liên hệ cán bộ hướng dẫn.";
        show("message");
      }
      refreshQuietly();
    }).catch(function () {
      busy = false;
      $("message-text").textContent = "Mất kết nối với máy lấy số. Xin vui lòng liên hệ cán bộ hướng dẫn.";
      show("message");
    });
  }

  // State without redrawing the screen the citizen is on.
  function refreshQuietly() {
    api("GET", "/api/v1/touch/state").then(function (r) {
      if (r.status === 200) { view = r.body; drawPrinter(); $("clock").textContent = view.clock; }
    });
  }

  // --- the QR scanner: keys typed fast and ended by Enter -----------------
  var typed = "";
  var typedAt = 0;
  document.addEventListener("keydown", function (e) {
    var now = Date.now();
    if (now - typedAt > 400) typed = "";
    typedAt = now;
    if (e.key === "Enter") {
      var scan = typed;
      typed = "";
      if (scan.length >= 10) scanned(scan);
      e.preventDefault();
      return;
    }
    if (e.key.length === 1 && typed.length < 600) typed += e.key;
  });

  function notice(text, bad) {
    var n = $("card-notice");
    n.textContent = text;
    n.className = "card-notice" + (bad ? " bad" : "");
    n.hidden = false;
  }

  function scanned(scan) {
    if (!view || !view.cccd) { notice("Máy chưa dùng thẻ căn cước để xét ưu tiên.", true); return; }
    armIdle();
    api("POST", "/api/v1/touch/cccd", { qr: scan }).then(function (r) {
      if (r.status === 200) {
        card = r.body.granted ? scan : null;
        cardGrant = r.body.granted ? r.body.priority : null;
        notice(r.body.message, false);
      } else {
        forgetCard();
        notice((r.body && r.body.error) || "Không đọc được thẻ.", true);
        setTimeout(function () { if (!card) $("card-notice").hidden = true; }, 4000);
      }
    });
  }

  // --- wiring ----------------------------------------------------------------
  $("services-back").addEventListener("click", function () { reset(); });
  $("priority-back").addEventListener("click", function () {
    if (chosen.department && chosen.department.services.length) pickDepartment(chosen.department);
    else reset();
  });
  $("ticket-done").addEventListener("click", reset);
  $("message-back").addEventListener("click", reset);
  document.addEventListener("pointerdown", armIdle, true);
  // No long-press menu or pinch zoom on a kiosk screen.
  document.addEventListener("contextmenu", function (e) { e.preventDefault(); });

  // The clock is the kiosk's (the center's time zone), from each refresh.
  show("start");
  refresh();
  // Opening hours and the printer change by themselves: look again on the
  // start screen every few seconds.
  setInterval(function () {
    var s = current();
    if ((s === "start" || s === "closed") && !busy) refresh();
  }, 5000);
})();
