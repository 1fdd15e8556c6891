// The citizen's ticket page: follows /t/{key}/events, which carries only
// this ticket's state (and the texts to show, written by the kiosk), and
// calls the citizen with a full-screen message, a beep and a vibration.
"use strict";
(function () {
  var body = document.body;
  var url = body.getAttribute("data-events");
  if (!url) { return; }
  var main = document.getElementById("ticket");
  var call = document.getElementById("call");
  var connection = document.getElementById("connection");
  var audio = null;
  var lastCall = null;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el && el.textContent !== value) { el.textContent = value || ""; }
  }

  // Browsers let a page make sound only after a touch: the first touch
  // unlocks the audio context, later calls beep by themselves.
  function unlockAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    try {
      if (!audio) { audio = new Ctx(); }
      if (audio.state === "suspended") { audio.resume(); }
    } catch (e) { audio = null; }
  }
  document.addEventListener("touchstart", unlockAudio, { passive: true });
  document.addEventListener("click", unlockAudio);

  function beep() {
    unlockAudio();
    if (!audio) { return; }
    try {
      var t = audio.currentTime;
      [0, 0.45, 0.9].forEach(function (offset) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, t + offset);
        gain.gain.exponentialRampToValueAtTime(0.5, t + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + offset + 0.35);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(t + offset);
        osc.stop(t + offset + 0.4);
      });
    } catch (e) { /* no sound: the screen still says it */ }
  }

  function vibrate() {
    try {
      if (navigator.vibrate) { navigator.vibrate([400, 200, 400, 200, 400]); }
    } catch (e) { /* not allowed here */ }
  }

  call.addEventListener("click", function () { call.hidden = true; });

  // Rating the service: buttons in the levels' colours while the kiosk
  // says the ticket can be rated; after a tap, the thanks (or the reason
  // it was refused) and no more buttons.
  var rating = document.getElementById("rating");
  var levels = document.getElementById("rating-levels");
  var answer = document.getElementById("rating-answer");
  var answered = false;
  var sending = false;
  var taps = 0;

  function buttons() { return levels ? levels.querySelectorAll("button") : []; }

  function showAnswer(kind, message) {
    answer.className = "rating-answer " + kind;
    answer.textContent = message;
    answer.hidden = false;
    levels.hidden = kind !== "sending" ? true : levels.hidden;
    rating.hidden = false;
  }

  function rate(level) {
    if (sending || answered) { return; }
    sending = true;
    Array.prototype.forEach.call(buttons(), function (b) { b.disabled = true; });
    levels.hidden = true;
    showAnswer("sending", "Đang gửi đánh giá…");
    taps += 1;
    var key = Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10) + "-" + taps;
    var payload = JSON.stringify({ level: level, key: key });
    function attempt(left) {
      return fetch(rating.getAttribute("data-rate"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: payload
      }).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).catch(function (err) {
        // No answer: send the same key again (never counted twice).
        if (left > 0) {
          return new Promise(function (res) { setTimeout(res, 1500); }).then(function () { return attempt(left - 1); });
        }
        throw err;
      });
    }
    attempt(2).then(function (reply) {
      answered = true;
      if (reply.ok) { showAnswer("ok", "Cảm ơn ông/bà!"); }
      else { showAnswer("refused", (reply.data && reply.data.message_vi) || "Chưa ghi nhận được đánh giá."); }
    }).catch(function () {
      // Not sent: the buttons come back for another try.
      answer.hidden = true;
      levels.hidden = false;
      Array.prototype.forEach.call(buttons(), function (b) { b.disabled = false; });
      showAnswer("refused", "Chưa gửi được đánh giá. Xin thử lại.");
      levels.hidden = false;
    }).then(function () { sending = false; });
  }

  function showRating(rateable, rated) {
    if (!rating || answered || sending) { return; }
    if (rated) {
      answered = true;
      showAnswer("ok", "Cảm ơn ông/bà!");
    } else if (rateable) {
      rating.hidden = false;
      levels.hidden = false;
    } else {
      rating.hidden = true;
    }
  }

  if (rating) {
    Array.prototype.forEach.call(buttons(), function (b) {
      b.style.backgroundColor = b.getAttribute("data-color") || "";
      b.addEventListener("click", function () { rate(b.getAttribute("data-level")); });
    });
    showRating(rating.getAttribute("data-rateable") === "true",
      rating.getAttribute("data-rated") === "true");
  }

  function show(page) {
    main.className = "state-" + page.status;
    text("number", page.label);
    text("department", page.department);
    text("status", page.text.status);
    text("wait", page.text.wait);
    text("note", page.text.note);
    document.title = "Số " + page.label;
    showRating(!!page.rateable, !!page.rated);
    if (page.status === "called") {
      var id = page.counter + "/" + page.recalls;
      if (id !== lastCall) {
        lastCall = id;
        text("call-number", page.label);
        text("call-counter", String(page.counter));
        call.hidden = false;
        beep();
        vibrate();
      }
    } else {
      call.hidden = true;
    }
  }

  var source = new EventSource(url);
  source.addEventListener("ticket", function (e) {
    connection.hidden = true;
    var page;
    try { page = JSON.parse(e.data); } catch (err) { return; }
    show(page);
    if (page.final) { source.close(); }
  });
  source.addEventListener("open", function () { connection.hidden = true; });
  source.addEventListener("error", function () {
    connection.hidden = false;
    if (source.readyState === EventSource.CLOSED) {
      // Refused for good (the key expired with its day): the page itself
      // will say so.
      setTimeout(function () { location.reload(); }, 10000);
    }
  });
})();
