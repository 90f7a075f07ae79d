// SmartQueue web views: live updates, the display's calls and announcements, keyboard
// shortcuts and kiosk helpers. Plain JavaScript, no dependencies, no build step.
(function () {
  "use strict";
  var body = document.body;
  var page = body.dataset.page;

  // ---- live socket: reconnects with backoff, resyncs on every (re)connect ----
  // Where WebSocket never opens (a proxy that refuses upgrades), the same feed comes as
  // server-sent events from `…/events` instead of `…/ws`.
  function live(path, onFrame, onStatus) {
    var delay = 500, ws = null, lastFrame = Date.now(), failures = 0, opened = false;
    function frame(data) {
      lastFrame = Date.now();
      var f; try { f = JSON.parse(data); } catch (e) { return; }
      if (f.type !== "ping") onFrame(f);
    }
    function events() {
      var es = new EventSource(path.replace(/\/ws(\?|$)/, "/events$1"));
      es.onopen = function () { if (onStatus) onStatus(true); };
      es.onmessage = function (m) { frame(m.data); };
      // EventSource reconnects by itself; a resync frame arrives on every reconnect.
      es.onerror = function () { if (onStatus) onStatus(false); };
    }
    function connect() {
      if (!window.WebSocket || (!opened && failures >= 3)) { events(); return; }
      var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
      ws = new WebSocket(url);
      ws.onopen = function () { opened = true; failures = 0; delay = 500; lastFrame = Date.now(); if (onStatus) onStatus(true); };
      ws.onmessage = function (m) { frame(m.data); };
      ws.onclose = function () {
        failures += 1;
        if (onStatus) onStatus(false);
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 15000);
      };
      ws.onerror = function () { try { ws.close(); } catch (e) {} };
    }
    // The server pings every 20 s: a silent socket is a dead one (sleeping laptop, proxy).
    setInterval(function () {
      if (ws && ws.readyState === 1 && Date.now() - lastFrame > 45000) ws.close();
    }, 5000);
    connect();
  }

  // ---- pages with a server-rendered live fragment (console, supervisor, tracker) ----
  function refresher(url) {
    var timer = null, busy = false, again = false;
    function run() {
      if (busy) { again = true; return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { if (r.redirected || r.status === 401) { location.reload(); return null; } return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var region = document.getElementById("live");
          var active = document.activeElement && document.activeElement.id;
          // Do not replace the region under someone typing a pause reason.
          if (active && region.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
          region.innerHTML = html;
          if (active) { var el = document.getElementById(active); if (el) el.focus(); }
          ticking();
        })
        .catch(function () {})
        .then(function () { busy = false; if (again) { again = false; schedule(); } });
    }
    function schedule() { clearTimeout(timer); timer = setTimeout(run, 120); }
    return schedule;
  }

  function ticking() {
    document.querySelectorAll(".timer[data-since]").forEach(function (el) {
      var since = parseInt(el.dataset.since, 10);
      if (!since) return;
      var s = Math.max(0, Math.floor((Date.now() - since) / 1000));
      var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
      el.textContent = (h ? h + ":" + String(m).padStart(2, "0") : String(m).padStart(2, "0")) + ":" + String(r).padStart(2, "0");
    });
  }

  if (body.dataset.fragment && body.dataset.live) {
    var refresh = refresher(body.dataset.fragment);
    live(body.dataset.live, function () { refresh(); });
    setInterval(ticking, 1000);
  }

  // ---- console keyboard shortcuts ----
  if (page === "console") {
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      var t = e.target.tagName;
      if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA") return;
      var b = document.querySelector('button[data-key="' + e.key.toLowerCase() + '"]');
      if (b) { e.preventDefault(); b.click(); }
    });
  }

  // Confirmation for destructive public actions (tracker cancel).
  document.addEventListener("submit", function (e) {
    var b = e.target.querySelector("button[data-confirm]");
    if (b && !window.confirm(b.dataset.confirm)) e.preventDefault();
  });

  // ---- display ----
  if (page === "display") {
    var tz = body.dataset.tz, lang = document.documentElement.lang;
    var counterLabel = body.dataset.counterLabel;
    var clock = document.getElementById("clock");
    var fmt;
    try { fmt = new Intl.DateTimeFormat(lang, { timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", weekday: "long", day: "numeric", month: "long" }); }
    catch (e) { fmt = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" }); }
    function tick() { clock.textContent = fmt.format(new Date()); }
    tick(); setInterval(tick, 1000);

    var calls = []; // newest first: {ticket_id, number, counter, status, called_at}
    var ACTIVE = { called: 1, recalled: 1, serving: 1, paused: 1 };
    function render() {
      var now = document.getElementById("now"), recent = document.getElementById("recent");
      var seen = {}, nowItems = [], rest = [];
      calls.forEach(function (c) {
        if (ACTIVE[c.status] && c.counter && !seen[c.counter] && nowItems.length < 4) { seen[c.counter] = 1; nowItems.push(c); }
        else rest.push(c);
      });
      now.innerHTML = ""; recent.innerHTML = "";
      nowItems.forEach(function (c, i) {
        var li = document.createElement("li");
        li.className = "call" + (i === 0 ? " latest" : "");
        li.dataset.ticket = c.ticket_id;
        var n = document.createElement("span"); n.className = "num"; n.textContent = c.number;
        var k = document.createElement("span"); k.className = "ctr"; k.textContent = counterLabel + " " + c.counter;
        li.appendChild(n); li.appendChild(k); now.appendChild(li);
      });
      rest.slice(0, 8).forEach(function (c) {
        var li = document.createElement("li");
        // No arrow: it would point the wrong way in right-to-left pages.
        li.textContent = c.number + (c.counter ? " · " + counterLabel + " " + c.counter : "");
        recent.appendChild(li);
      });
    }
    // Chime (WebAudio) then speech (Web Speech API), one announcement at a time: a new
    // call waits for the one being spoken instead of cutting it off.
    var queue = [], speaking = false, audio = null;
    function chime(done) {
      try {
        audio = audio || new (window.AudioContext || window.webkitAudioContext)();
        var t0 = audio.currentTime;
        [880, 660].forEach(function (f, i) {
          var o = audio.createOscillator(), g = audio.createGain();
          o.type = "sine"; o.frequency.value = f;
          g.gain.setValueAtTime(0.0001, t0 + i * 0.35);
          g.gain.exponentialRampToValueAtTime(0.4, t0 + i * 0.35 + 0.03);
          g.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.35 + 0.3);
          o.connect(g); g.connect(audio.destination);
          o.start(t0 + i * 0.35); o.stop(t0 + i * 0.35 + 0.32);
        });
      } catch (e) {}
      setTimeout(done, 800);
    }
    function next() {
      if (speaking || !queue.length) return;
      speaking = true;
      var text = queue.shift();
      chime(function () {
        if (!("speechSynthesis" in window)) { speaking = false; next(); return; }
        var u = new SpeechSynthesisUtterance(text);
        u.lang = body.dataset.speechLang || lang;
        var finished = false;
        function end() { if (finished) return; finished = true; speaking = false; setTimeout(next, 400); }
        u.onend = end; u.onerror = end;
        // Some engines never fire onend when no voice exists: never block the queue.
        setTimeout(end, 15000);
        window.speechSynthesis.speak(u);
      });
    }
    // A burst of calls must not build a backlog that lags minutes behind the screen, or
    // grows for as long as the screen runs: an announcement already waiting is not queued
    // twice, and past MAX_BACKLOG the oldest waiting ones give way (their numbers are on
    // the screen already). The one being spoken is never cut off.
    var MAX_BACKLOG = 6;
    function announce(text) {
      if (queue.indexOf(text) >= 0) return;
      queue.push(text);
      if (queue.length > MAX_BACKLOG) queue.splice(0, queue.length - MAX_BACKLOG);
      next();
    }
    window.sqSpeechBacklog = function () { return queue.length; };
    document.getElementById("sound").addEventListener("click", function () {
      try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); audio.resume(); } catch (e) {}
      this.hidden = true;
    });
    // Screens run for days: a quiet daily reload (between calls) frees whatever the
    // browser itself may hold on to; the snapshot restores the screen at once.
    setTimeout(function reload() {
      if (speaking || queue.length) { setTimeout(reload, 60000); return; }
      location.reload();
    }, 24 * 3600 * 1000);
    // The ticker: the site's active announcements (each isolated, they may be in another
    // script), or the welcome line when there are none.
    var ticker = document.getElementById("ticker");
    function setTicker(items) {
      if (!ticker || !Array.isArray(items)) return;
      ticker.textContent = "";
      if (!items.length) { ticker.textContent = ticker.dataset.fallback; return; }
      items.forEach(function (text, i) {
        if (i) { var sep = document.createElement("span"); sep.className = "sep"; sep.setAttribute("aria-hidden", "true"); sep.textContent = " · "; ticker.appendChild(sep); }
        var b = document.createElement("bdi"); b.textContent = text; ticker.appendChild(b);
      });
    }
    var status = document.getElementById("status");
    live(body.dataset.live, function (f) {
      if (f.type === "snapshot") { calls = f.calls || []; render(); setTicker(f.ticker); return; }
      if (f.type === "ticker") { setTicker(f.items); return; }
      if (f.type === "resync") return;
      if (f.type !== "event") return;
      var i = calls.findIndex(function (c) { return c.ticket_id === f.ticket_id; });
      if (f.kind === "call" || f.kind === "recall") {
        if (i >= 0) calls.splice(i, 1);
        calls.unshift({ ticket_id: f.ticket_id, number: f.number, counter: f.counter, status: f.status, called_at: f.at });
        calls = calls.slice(0, 20);
        window.sqLastCall = { number: f.number, at: Date.now() };
        if (f.speech) announce(f.speech);
      } else if (i >= 0) {
        calls[i].status = f.status;
      }
      render();
    }, function (up) { status.textContent = up ? "" : "…"; body.classList.toggle("offline", !up); });
  }

  // ---- kiosk ----
  var a11y = document.getElementById("a11y");
  if (a11y) {
    var on = localStorage.getItem("sq-a11y") === "1";
    function apply() { document.documentElement.classList.toggle("a11y", on); a11y.setAttribute("aria-pressed", on ? "true" : "false"); }
    apply();
    a11y.addEventListener("click", function () { on = !on; localStorage.setItem("sq-a11y", on ? "1" : "0"); apply(); });
  } else if (localStorage.getItem("sq-a11y") === "1") {
    document.documentElement.classList.add("a11y");
  }
  var print = document.getElementById("print");
  if (print) print.addEventListener("click", function () { window.print(); });
  if (body.dataset.return) setTimeout(function () { location.href = body.dataset.return; }, 60000);
})();
