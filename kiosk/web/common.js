// Shared by the login, console and admin pages: the API client (session,
// CSRF header, JSON errors), the live state fed by the event stream, and
// small DOM helpers. Plain JavaScript, no framework, nothing from outside.
'use strict';

const Kiosk = (function () {
  const SESSION_KEY = 'kiosk.session';

  /** The tab's login: {csrf, name, role, counters}, or null. */
  function session() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY));
    } catch (e) {
      return null;
    }
  }

  function saveSession(s) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  }

  function clearSession() {
    sessionStorage.removeItem(SESSION_KEY);
  }

  /** Sends the tab to the login page, coming back here afterwards. */
  function toLogin() {
    const here = location.pathname + location.search;
    location.replace('/login?next=' + encodeURIComponent(here));
  }

  /** An API answer other than 2xx: status, the `error` message, the body. */
  class ApiError extends Error {
    constructor(status, message, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  /** First letter upper case: API messages are lower-case sentences. */
  function sentence(text) {
    text = String(text || '');
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  /**
   * Calls the API. `body`: an object (sent as JSON), a string (sent as
   * text) or undefined. Every POST/DELETE carries the CSRF header. A 401
   * sends the tab to the login page unless `options.stay` is set.
   */
  async function api(method, path, body, options) {
    options = options || {};
    const headers = { Accept: 'application/json' };
    const s = session();
    if (method !== 'GET' && s && s.csrf) {
      headers['X-CSRF-Token'] = s.csrf;
    }
    let payload;
    if (typeof body === 'string') {
      headers['Content-Type'] = 'text/plain; charset=utf-8';
      payload = body;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, {
        method: method,
        headers: headers,
        body: payload,
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, 'Không kết nối được với máy lấy số — kiểm tra mạng', null);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (response.status === 401 && !options.stay) {
      clearSession();
      toLogin();
    }
    if (!response.ok) {
      const message = (data && data.error) || 'Lỗi HTTP ' + response.status;
      throw new ApiError(response.status, sentence(message), data);
    }
    return data;
  }

  async function logout() {
    try {
      await api('POST', '/api/v1/logout', undefined, { stay: true });
    } catch (e) {
      // The session may already be gone; the tab forgets it either way.
    }
    clearSession();
    location.replace('/login');
  }

  /** The tab's login, or a trip to the login page. */
  function requireSession() {
    const s = session();
    if (!s || !s.csrf) {
      toLogin();
      return null;
    }
    return s;
  }

  // ---- DOM helpers -------------------------------------------------------

  function $(id) {
    return document.getElementById(id);
  }

  /** Builds an element: el('td', {class: 'x'}, 'text', child, …). */
  function el(tag, attrs) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const key of Object.keys(attrs)) {
        const value = attrs[key];
        if (value === undefined || value === null || value === false) continue;
        if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
        else if (key === 'text') node.textContent = value;
        else node.setAttribute(key, value === true ? '' : value);
      }
    }
    for (let i = 2; i < arguments.length; i++) {
      const child = arguments[i];
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /** Shows a message in a notice element (kind: ok, warn, error). */
  function notice(node, kind, text) {
    if (typeof node === 'string') node = $(node);
    if (!text) {
      node.hidden = true;
      node.textContent = '';
      return;
    }
    node.className = 'notice ' + kind;
    node.textContent = text;
    node.hidden = false;
  }

  /** "3 phút", "1 giờ 05 phút", "40 giây". */
  function duration(ms) {
    const secs = Math.max(0, Math.round(ms / 1000));
    if (secs < 60) return secs + ' giây';
    const mins = Math.floor(secs / 60);
    if (mins < 60) return mins + ' phút';
    const hours = Math.floor(mins / 60);
    return hours + ' giờ ' + String(mins % 60).padStart(2, '0') + ' phút';
  }

  function clock(ms) {
    const d = new Date(ms);
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  // ---- live state from the event stream ----------------------------------

  /**
   * The center as the event stream tells it: `counters` (number →
   * current ticket or null), `status` (number → {status, officer}),
   * `departments` (id → {waiting,
   * priority_waiting}), `lastSeq`. Calls `onChange(state, why)` after the
   * snapshot and after every event; `onLink(connected)` when the stream
   * opens or drops. Waiting counts are re-read from /api/v1/queue after
   * each event that can change them (the events do not say which tickets
   * were priority ones).
   */
  function live(onChange, onLink) {
    const state = { counters: {}, status: {}, departments: {}, lastSeq: 0, queueSeq: -1, started: false };
    let source = null;
    let queueTimer = null;
    let retryTimer = null;

    function applySnapshot(snap) {
      state.counters = {};
      state.status = {};
      for (const c of snap.counters || []) {
        state.counters[c.counter] = c.current || null;
        state.status[c.counter] = { status: c.status || { type: 'open' }, officer: c.officer || null };
      }
      applyQueue(snap.departments || [], snap.last_seq);
      state.lastSeq = snap.last_seq;
      state.started = true;
      onChange(state, { type: 'snapshot' });
    }

    function applyQueue(departments, seq) {
      if (seq < state.queueSeq) return false;
      state.queueSeq = seq;
      state.departments = {};
      for (const d of departments) {
        state.departments[d.department] = {
          waiting: d.waiting,
          priority_waiting: d.priority_waiting,
          estimated_wait_secs: d.estimated_wait_secs,
          issued_today: d.issued_today,
        };
      }
      return true;
    }

    function refreshQueue() {
      if (queueTimer) return;
      queueTimer = setTimeout(async function () {
        queueTimer = null;
        try {
          const q = await api('GET', '/api/v1/queue');
          if (applyQueue(q.departments || [], q.last_seq)) onChange(state, { type: 'queue' });
        } catch (e) {
          // The stream's own error handling reports a lost link.
        }
      }, 30);
    }

    function clearTicket(counter, ticket) {
      const now = state.counters[counter];
      if (now && (ticket === undefined || now.ticket === ticket)) state.counters[counter] = null;
    }

    function applyEvent(event) {
      if (event.seq <= state.lastSeq) return;
      state.lastSeq = event.seq;
      const k = event.kind;
      switch (k.type) {
        case 'called':
        case 'called_chosen': {
          const before = state.counters[k.counter];
          state.counters[k.counter] = {
            ticket: k.ticket,
            label: k.label,
            department: k.department,
            serving: false,
            called_at_ms: k.recall && before && before.ticket === k.ticket ? before.called_at_ms : event.at_ms,
          };
          break;
        }
        case 'serving_started': {
          const now = state.counters[k.counter];
          if (now && now.ticket === k.ticket) now.serving = true;
          break;
        }
        case 'finished':
        case 'no_show':
        case 'parked':
          clearTicket(k.counter, k.ticket);
          break;
        case 'counter_status_changed':
          state.status[k.counter] = { status: k.status, officer: k.officer || null };
          break;
        case 'transferred':
          if (k.from_counter !== null && k.from_counter !== undefined) clearTicket(k.from_counter, k.ticket);
          break;
        case 'cancelled':
          for (const n of Object.keys(state.counters)) clearTicket(n, k.ticket);
          break;
        default:
          break;
      }
      if (['ticket_issued', 'called', 'called_chosen', 'transferred', 'cancelled', 'no_show', 'brought_back',
        'service_day_started'].includes(k.type)) {
        refreshQueue();
      }
      onChange(state, k);
    }

    function connect() {
      if (source) source.close();
      // A reconnect made by the browser sends Last-Event-ID; a new
      // EventSource made here after a hard failure asks from our last seq.
      const url = state.started ? '/api/v1/events?after=' + state.lastSeq : '/api/v1/events';
      source = new EventSource(url);
      source.onopen = function () {
        onLink(true);
      };
      source.onerror = function () {
        onLink(false);
        if (source.readyState === EventSource.CLOSED) {
          // The server refused the stream (401/403) or it failed for good:
          // check the session, then try again.
          api('GET', '/api/v1/me/counters').catch(function () {});
          clearTimeout(retryTimer);
          retryTimer = setTimeout(connect, 3000);
        }
      };
      source.addEventListener('snapshot', function (m) {
        applySnapshot(JSON.parse(m.data));
      });
      const types = ['service_day_started', 'ticket_issued', 'called', 'no_show', 'serving_started',
        'finished', 'transferred', 'cancelled', 'printed', 'print_failed', 'clock_went_backwards',
        'fault', 'fault_cleared', 'admin_action', 'pruned', 'counter_status_changed', 'called_chosen', 'parked',
        'brought_back'];
      for (const t of types) {
        source.addEventListener(t, function (m) {
          applyEvent(JSON.parse(m.data));
        });
      }
    }

    connect();
    return state;
  }

  return {
    api: api,
    ApiError: ApiError,
    session: session,
    saveSession: saveSession,
    clearSession: clearSession,
    requireSession: requireSession,
    logout: logout,
    toLogin: toLogin,
    sentence: sentence,
    $: $,
    el: el,
    notice: notice,
    duration: duration,
    clock: clock,
    live: live,
  };
})();
