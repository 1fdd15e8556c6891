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

  function show(page) {
    main.className = "state-" + page.status;
    text("number", page.label);
    text("department", page.department);
    text("status", page.text.status);
    text("wait", page.text.wait);
    text("note", page.text.note);
    document.title = "Số " + page.label;
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
