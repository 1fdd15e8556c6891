// The staff console: one counter's current ticket, its actions (buttons
// and keyboard shortcuts) and the waiting counts of the departments it
// serves, all kept live from the event stream.
'use strict';

(function () {
  const { api, $, el, notice, duration } = Kiosk;

  const PRIORITY_NAMES = {
    'nguoi-cao-tuoi': 'Người cao tuổi',
    'nguoi-khuyet-tat': 'Người khuyết tật',
    'phu-nu-mang-thai': 'Phụ nữ mang thai',
    'nguoi-co-con-nho': 'Người có con nhỏ',
    'nguoi-co-cong': 'Người có công',
  };

  const SHORTCUTS = {
    n: 'next', ' ': 'next', r: 'recall', v: 'no-show', t: 'transfer', b: 'start', h: 'finish',
  };

  const view = {
    counter: null, // {counter, name, serves}
    departments: {}, // id → name
    services: {}, // 'department/service' → name
    counters: [], // [{counter, name}] of the whole center, for transfers
    current: null, // the counter's current ticket (stream form)
    ticket: null, // the whole current ticket (priority, issue time)
    live: null,
    busy: false,
  };

  function setFeedback(kind, text) {
    notice('feedback-notice', kind, text);
  }

  function departmentName(id) {
    return view.departments[id] || id;
  }

  // ---- start -------------------------------------------------------------

  async function start() {
    const s = Kiosk.requireSession();
    if (!s) return;
    $('who').textContent = s.name;
    $('logout').addEventListener('click', Kiosk.logout);
    let mine;
    let summary;
    try {
      [mine, summary] = await Promise.all([
        api('GET', '/api/v1/me/counters'),
        api('GET', '/api/v1/summary'),
      ]);
    } catch (err) {
      if (err.status === 403) notice('page-error', 'error', 'Tài khoản này không dùng được bàn làm việc của quầy.');
      else if (err.status !== 401) notice('page-error', 'error', err.message);
      return;
    }
    for (const d of summary.departments || []) {
      view.departments[d.department] = d.name;
      for (const s of d.services || []) view.services[d.department + '/' + s.id] = s.name;
    }
    view.counters = (summary.counters || []).map(function (c) {
      return { counter: c.counter, name: c.name };
    });
    const counters = mine.counters || [];
    if (counters.length === 0) {
      notice('page-error', 'error', 'Tài khoản của bạn chưa được phân công quầy nào. Hãy liên hệ kỹ thuật viên.');
      return;
    }
    const asked = new URLSearchParams(location.search).get('counter');
    let chosen = null;
    if (asked !== null) {
      chosen = counters.find(function (c) {
        return String(c.counter) === asked;
      });
      if (!chosen) {
        notice('page-error', 'error', 'Bạn không được phân công quầy số ' + asked + '. Hãy chọn quầy của bạn.');
        showChooser(counters);
        return;
      }
    } else if (counters.length === 1) {
      chosen = counters[0];
    } else {
      const last = sessionStorage.getItem('kiosk.counter');
      chosen = counters.find(function (c) {
        return String(c.counter) === last;
      });
      if (!chosen) {
        showChooser(counters);
        return;
      }
    }
    openCounter(chosen, counters);
  }

  function counterLink(c) {
    return '/console?counter=' + encodeURIComponent(c.counter);
  }

  function showChooser(counters) {
    $('chooser').hidden = false;
    const box = $('counter-choice');
    box.textContent = '';
    for (const c of counters) {
      box.append(el('a', { href: counterLink(c), 'data-counter': c.counter }, c.name || 'Quầy ' + c.counter));
    }
  }

  function openCounter(counter, all) {
    view.counter = counter;
    sessionStorage.setItem('kiosk.counter', String(counter.counter));
    document.title = (counter.name || 'Quầy ' + counter.counter) + ' — Máy lấy số';
    $('title').textContent = counter.name || 'Quầy ' + counter.counter;
    if (all.length > 1) {
      const select = $('counter-select');
      for (const c of all) {
        select.append(el('option', { value: c.counter, selected: c.counter === counter.counter }, c.name || 'Quầy ' + c.counter));
      }
      select.hidden = false;
      select.addEventListener('change', function () {
        location.href = counterLink({ counter: select.value });
      });
    }
    buildWaitingList();
    buildTransferDialog();
    $('console-view').hidden = false;
    for (const button of document.querySelectorAll('.actions button')) {
      button.addEventListener('click', function () {
        act(button.dataset.action);
      });
    }
    document.addEventListener('keydown', onKey);
    setCurrent(counter.current || null);
    view.live = Kiosk.live(onLive, onLink);
    setInterval(renderCurrent, 15000);
  }

  // ---- live state ----------------------------------------------------------

  function onLink(connected) {
    if (connected) notice('link-notice');
    else notice('link-notice', 'warn', 'Mất kết nối — đang kết nối lại…');
    document.body.dataset.link = connected ? 'up' : 'down';
  }

  function onLive(state) {
    setCurrent(state.counters[view.counter.counter] || null);
    renderWaiting(state.departments);
  }

  /** A new current ticket (stream form); fetches the whole ticket. */
  function setCurrent(current) {
    const changed = (current && current.ticket) !== (view.current && view.current.ticket);
    view.current = current;
    if (!current) view.ticket = null;
    else if (changed || !view.ticket) {
      view.ticket = null;
      loadTicket(current.ticket);
    }
    renderCurrent();
  }

  async function loadTicket(id) {
    try {
      const answer = await api('GET', '/api/v1/counters/' + view.counter.counter + '/current');
      if (answer.ticket && view.current && answer.ticket.id === view.current.ticket && answer.ticket.id === id) {
        view.ticket = answer.ticket;
        renderCurrent();
      }
    } catch (e) {
      // The details are a nicety; the number itself is already shown.
    }
  }

  function renderCurrent() {
    const c = view.current;
    const t = view.ticket;
    const number = $('current-number');
    number.textContent = c ? c.label : '—';
    number.classList.toggle('empty', !c);
    number.dataset.ticket = c ? c.ticket : '';
    // The procedure picked on the touch screen, when there was one.
    const service = t && t.service
      ? ' – ' + (view.services[t.issued_department + '/' + t.service] || t.service) : '';
    $('current-department').textContent = c ? departmentName(c.department) + service : '';
    $('current-department').hidden = !c;
    const priority = t && t.priority;
    $('current-priority').hidden = !priority;
    $('current-priority').textContent = priority ? 'Ưu tiên: ' + (PRIORITY_NAMES[priority] || priority) : '';
    if (t) {
      const calledAt = t.called_at_ms || Date.now();
      $('current-waited').textContent = 'Đã chờ ' + duration(calledAt - t.issued_at_ms);
      $('current-waited').hidden = false;
    } else {
      $('current-waited').hidden = true;
    }
    const stateText = !c
      ? 'Chưa gọi số nào — bấm "Gọi số tiếp theo"'
      : c.serving
        ? 'Đang phục vụ'
        : 'Đang gọi — chờ công dân đến quầy (' + duration(Date.now() - c.called_at_ms) + ')';
    $('current-state').textContent = stateText;
    $('current-state').dataset.state = !c ? 'idle' : c.serving ? 'serving' : 'called';
    $('btn-recall').disabled = !c || c.serving;
    $('btn-no-show').disabled = !c || c.serving;
    $('btn-start').disabled = !c || c.serving;
    $('btn-finish').disabled = !c;
    $('btn-transfer').disabled = !c;
  }

  function buildWaitingList() {
    const list = $('waiting-list');
    list.textContent = '';
    for (const id of view.counter.serves || []) {
      list.append(el('li', { 'data-department': id },
        el('span', { class: 'name' }, departmentName(id)),
        el('span', null, el('span', { class: 'count' }, '…'), el('span', { class: 'prio' }))));
    }
  }

  function renderWaiting(departments) {
    let total = 0;
    for (const li of document.querySelectorAll('#waiting-list li')) {
      const q = departments[li.dataset.department];
      const waiting = q ? q.waiting : 0;
      total += waiting;
      li.querySelector('.count').textContent = String(waiting);
      li.querySelector('.prio').textContent = q && q.priority_waiting ? '(' + q.priority_waiting + ' ưu tiên)' : '';
    }
    $('waiting-total').textContent = 'Tổng cộng ' + total + ' người đang chờ quầy này.';
  }

  // ---- actions -----------------------------------------------------------

  function onKey(e) {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    if ($('transfer-dialog').open) return;
    const target = e.target;
    if (target && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA')) return;
    const action = SHORTCUTS[e.key.toLowerCase()];
    if (!action) return;
    e.preventDefault();
    const button = document.querySelector('.actions button[data-action="' + action + '"]');
    if (button && !button.disabled) act(action);
  }

  const DONE = {
    next: 'Đã gọi số ',
    recall: 'Đã gọi lại số ',
    start: 'Bắt đầu phục vụ số ',
    finish: 'Đã hoàn thành số ',
    'no-show': 'Đã ghi vắng mặt số ',
  };

  async function act(action, extra) {
    if (action === 'transfer' && !extra) {
      openTransfer();
      return;
    }
    if (view.busy) return;
    view.busy = true;
    const n = view.counter.counter;
    const body = Object.assign({}, extra || {});
    if (action !== 'next' && view.current) body.ticket = view.current.ticket;
    try {
      const answer = await api('POST', '/api/v1/counters/' + n + '/' + action, body);
      const t = answer && answer.ticket;
      if (action === 'transfer') {
        setFeedback('ok', 'Đã chuyển số ' + t.label + ' sang ' +
          (extra.counter ? 'quầy ' + extra.counter : departmentName(extra.department)) + '.');
      } else {
        setFeedback('ok', DONE[action] + (t ? t.label : '') + '.');
      }
      if (t && (action === 'next' || action === 'recall' || action === 'start')) {
        // The answer is ahead of the stream: show it now.
        view.current = {
          ticket: t.id, label: t.label, department: t.department,
          serving: t.state.type === 'serving', called_at_ms: t.called_at_ms,
        };
        view.ticket = t;
      } else if (action !== 'next') {
        view.current = null;
        view.ticket = null;
      }
      renderCurrent();
    } catch (err) {
      setFeedback('error', err.status === 403
        ? 'Bạn không có quyền thao tác ở quầy này.'
        : err.message);
    } finally {
      view.busy = false;
    }
  }

  // ---- transfer dialog -----------------------------------------------------

  function buildTransferDialog() {
    const departments = $('transfer-department');
    for (const id of Object.keys(view.departments)) {
      departments.append(el('option', { value: id }, view.departments[id]));
    }
    const counters = $('transfer-counter');
    for (const c of view.counters) {
      if (c.counter === view.counter.counter) continue;
      counters.append(el('option', { value: c.counter }, c.name || 'Quầy ' + c.counter));
    }
    $('transfer-cancel').addEventListener('click', function () {
      $('transfer-dialog').close();
    });
    $('transfer-form').addEventListener('submit', function (e) {
      e.preventDefault();
      const kind = document.querySelector('input[name="transfer-kind"]:checked').value;
      $('transfer-dialog').close();
      if (kind === 'counter') act('transfer', { counter: Number(counters.value) });
      else act('transfer', { department: departments.value });
    });
  }

  function openTransfer() {
    if (!view.current) return;
    $('transfer-label').textContent = view.current.label;
    $('transfer-dialog').showModal();
  }

  start();
})();
