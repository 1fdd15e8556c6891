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
    p: 'pause', m: 'open', d: 'close', g: 'park', c: 'call', l: 'unpark', q: 'bring-back',
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
    status: { type: 'open' }, // the counter's status (stream form)
    officer: null,
    lists: { waiting: [], parked: [], no_shows: [], pause_reasons: [], call_reasons: [] },
    listsTimer: null,
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
    view.displayName = mine.display_name || null;
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
    buildChooseDialog();
    setStatus(counter.status || { type: 'open' }, counter.officer || null);
    setCurrent(counter.current || null);
    loadLists(true);
    takeOver();
    view.live = Kiosk.live(onLive, onLink);
    setInterval(renderCurrent, 15000);
  }

  // ---- live state ----------------------------------------------------------

  function onLink(connected) {
    if (connected) notice('link-notice');
    else notice('link-notice', 'warn', 'Mất kết nối — đang kết nối lại…');
    document.body.dataset.link = connected ? 'up' : 'down';
  }

  function onLive(state, why) {
    setCurrent(state.counters[view.counter.counter] || null);
    const mine = state.status[view.counter.counter];
    if (mine) setStatus(mine.status, mine.officer);
    renderWaiting(state.departments);
    if (!why || why.type === 'printed' || why.type === 'print_failed') return;
    // Today's no-shows are read from the kiosk's disk: only when they change.
    loadLists(['snapshot', 'no_show', 'brought_back', 'service_day_started'].includes(why.type));
  }

  // ---- counter status and the lists of tickets -------------------------------

  /**
   * An officer with a display name who opens the console of an open
   * counter showing someone else's name takes it over, so the counter
   * display and the hall board show who serves there.
   */
  async function takeOver() {
    if (!view.displayName || view.status.type !== 'open' || view.officer === view.displayName) return;
    try {
      const answer = await api('POST', '/api/v1/counters/' + view.counter.counter + '/open', {});
      setStatus(answer.status, view.displayName);
    } catch (e) {
      // Not worth a message: the console works the same without the name.
    }
  }

  const STATUS_TEXT = { open: 'Đang mở', paused: 'Tạm dừng', closed: 'Đã đóng' };

  function setStatus(status, officer) {
    view.status = status || { type: 'open' };
    view.officer = officer;
    const tag = $('counter-status');
    tag.dataset.status = view.status.type;
    tag.textContent = STATUS_TEXT[view.status.type] + (view.status.reason ? ' — ' + view.status.reason : '');
    $('counter-officer').textContent = officer ? 'Cán bộ: ' + officer : '';
    renderCurrent();
  }

  /**
   * Re-reads what the counter may act on (debounced); with `noShows`, also
   * today's no-shows (otherwise the last ones read are kept).
   */
  function loadLists(noShows) {
    view.listsNoShows = view.listsNoShows || !!noShows;
    if (view.listsTimer) return;
    view.listsTimer = setTimeout(async function () {
      view.listsTimer = null;
      const withNoShows = view.listsNoShows;
      view.listsNoShows = false;
      try {
        const lists = await api('GET', '/api/v1/counters/' + view.counter.counter + '/tickets' +
          (withNoShows ? '?no_shows=true' : ''));
        if (!withNoShows) lists.no_shows = view.lists.no_shows || [];
        view.lists = lists;
        renderLists();
      } catch (e) {
        // The live state is still right; the lists come back with the next event.
      }
    }, 50);
  }

  function ticketItem(t, button) {
    const li = el('li', { 'data-ticket': t.id, class: t.over_target ? 'over-target' : '' },
      el('span', { class: 'label' }, t.label),
      el('span', { class: 'name' }, departmentName(t.department)),
      el('span', { class: 'waited' }, 'chờ ' + duration(t.waited_secs * 1000) + (t.over_target ? ' — quá hạn' : '')));
    if (button) li.append(button);
    return li;
  }

  function renderLists() {
    const waiting = $('waiting-tickets');
    waiting.textContent = '';
    for (const t of view.lists.waiting || []) {
      const b = el('button', { type: 'button', class: 'plain' }, 'Gọi');
      b.addEventListener('click', function () {
        openChoose('call', t.id);
      });
      waiting.append(ticketItem(t, b));
    }
    const parked = $('parked-list');
    parked.textContent = '';
    for (const t of view.lists.parked || []) {
      const b = el('button', { type: 'button', class: 'plain' }, 'Gọi lại');
      b.addEventListener('click', function () {
        act('unpark', { ticket: t.id });
      });
      parked.append(ticketItem(t, b));
    }
    const gone = $('no-show-list');
    gone.textContent = '';
    for (const t of view.lists.no_shows || []) {
      const b = el('button', { type: 'button', class: 'plain' }, 'Cho vào hàng lại');
      b.addEventListener('click', function () {
        act('bring-back', { ticket: t.id });
      });
      gone.append(ticketItem(t, b));
    }
    renderCurrent();
  }

  // ---- the choice dialog (pause reason, chosen ticket, no-show) -------------

  function buildChooseDialog() {
    $('choose-cancel').addEventListener('click', function () {
      $('choose-dialog').close();
    });
    $('choose-form').addEventListener('submit', function (e) {
      e.preventDefault();
      const action = $('choose-dialog').dataset.action;
      $('choose-dialog').close();
      const body = {};
      if (!$('choose-ticket-label').hidden) body.ticket = Number($('choose-ticket').value);
      if (!$('choose-reason-label').hidden) body.reason = $('choose-reason').value;
      act(action, body);
    });
  }

  const CHOOSE = {
    pause: { title: 'Tạm dừng quầy', tickets: null, reasons: 'pause_reasons' },
    call: { title: 'Gọi số đã chọn', tickets: 'waiting', reasons: 'call_reasons' },
    'bring-back': { title: 'Cho số vắng mặt vào hàng lại', tickets: 'no_shows', reasons: null },
  };

  function openChoose(action, ticket) {
    const how = CHOOSE[action];
    $('choose-dialog').dataset.action = action;
    $('choose-title').textContent = how.title;
    const tickets = $('choose-ticket');
    tickets.textContent = '';
    $('choose-ticket-label').hidden = !how.tickets;
    if (how.tickets) {
      const list = view.lists[how.tickets] || [];
      if (list.length === 0) {
        setFeedback('warn', action === 'call' ? 'Không có số nào đang chờ.' : 'Không có số vắng mặt nào hôm nay.');
        return;
      }
      for (const t of list) {
        tickets.append(el('option', { value: t.id, selected: t.id === ticket },
          t.label + (t.over_target ? ' (quá hạn)' : '')));
      }
    }
    const reasons = $('choose-reason');
    reasons.textContent = '';
    $('choose-reason-label').hidden = !how.reasons;
    for (const r of (how.reasons && view.lists[how.reasons]) || []) reasons.append(el('option', { value: r }, r));
    $('choose-dialog').showModal();
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
    const open = !view.status || view.status.type === 'open';
    const lists = view.lists || {};
    $('btn-next').disabled = !open;
    $('btn-pause').disabled = !open || !!c;
    $('btn-close').disabled = !!c || (view.status && view.status.type === 'closed');
    $('btn-open').disabled = open;
    $('btn-park').disabled = !c || !c.serving;
    $('btn-call').disabled = !open || !!c || !(lists.waiting || []).length;
    $('btn-unpark').disabled = !open || !!c || !(lists.parked || []).length;
    $('btn-bring-back').disabled = !(lists.no_shows || []).length;
    document.body.dataset.counterStatus = view.status ? view.status.type : 'open';
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
    if ($('transfer-dialog').open || $('choose-dialog').open) return;
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
    call: 'Đã gọi số ',
    park: 'Đã tạm gác số ',
    unpark: 'Đã gọi lại số tạm gác ',
    'bring-back': 'Đã cho vào hàng lại số ',
  };

  const STATUS_DONE = { pause: 'Quầy đã tạm dừng.', open: 'Quầy đã mở.', close: 'Quầy đã đóng.' };

  async function act(action, extra) {
    if (action === 'transfer' && !extra) {
      openTransfer();
      return;
    }
    if (CHOOSE[action] && !extra) {
      openChoose(action);
      return;
    }
    if (action === 'unpark' && !extra) {
      // One action: the oldest parked ticket comes back.
      const first = (view.lists.parked || [])[0];
      if (!first) return;
      extra = { ticket: first.id };
    }
    if (view.busy) return;
    view.busy = true;
    const n = view.counter.counter;
    const body = Object.assign({}, extra || {});
    const ownTicket = ['recall', 'no-show', 'start', 'finish', 'transfer', 'park'].includes(action);
    if (ownTicket && view.current) body.ticket = view.current.ticket;
    try {
      const answer = await api('POST', '/api/v1/counters/' + n + '/' + action, body);
      const t = answer && answer.ticket;
      if (STATUS_DONE[action]) {
        setFeedback('ok', STATUS_DONE[action]);
        setStatus(answer.status, view.officer);
        loadLists();
        return;
      }
      loadLists(action === 'no-show' || action === 'bring-back');
      if (action === 'transfer') {
        setFeedback('ok', 'Đã chuyển số ' + t.label + ' sang ' +
          (extra.counter ? 'quầy ' + extra.counter : departmentName(extra.department)) + '.');
      } else {
        setFeedback('ok', DONE[action] + (t ? t.label : '') + '.');
      }
      if (t && ['next', 'recall', 'start', 'call', 'unpark'].includes(action)) {
        // The answer is ahead of the stream: show it now.
        view.current = {
          ticket: t.id, label: t.label, department: t.department,
          serving: t.state.type === 'serving', called_at_ms: t.called_at_ms,
        };
        view.ticket = t;
      } else if (action !== 'next' && action !== 'bring-back') {
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
