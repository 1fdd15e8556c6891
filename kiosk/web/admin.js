// The technician pages: live view of the center, accounts, device tokens,
// reprints, configuration and reports. Every call is an admin API call:
// a staff session gets 403 on the first one and the page shows nothing
// but "Bạn không có quyền truy cập trang này".
'use strict';

(function () {
  const { api, $, el, notice, duration, clock } = Kiosk;

  const ROLE_NAMES = { admin: 'Kỹ thuật viên', staff: 'Nhân viên', display: 'Màn hình', keypad: 'Bàn phím quầy' };

  const PRINTER_STATES = {
    ready: ['Sẵn sàng', 'ok'],
    starting: ['Đang khởi động', 'warn'],
    unreachable: ['Mất kết nối', 'bad'],
    paper_out: ['Hết giấy', 'bad'],
    cover_open: ['Nắp đang mở', 'bad'],
    offline: ['Ngoại tuyến', 'bad'],
    paper_low: ['Sắp hết giấy', 'warn'],
    status_unknown: ['Không rõ trạng thái', 'warn'],
  };

  const view = {
    departments: {}, // id → name
    counters: [], // [{counter, name}]
    status: null, // last /admin/status
    live: null,
    failed: {}, // ticket id → reason, from print_failed events
    recent: [], // last calls
  };

  function departmentName(id) {
    return view.departments[id] || id;
  }

  function parseCounters(text) {
    return String(text || '')
      .split(/[\s,;]+/)
      .filter(Boolean)
      .map(Number)
      .filter(function (n) {
        return Number.isInteger(n) && n > 0;
      });
  }

  // ---- start -------------------------------------------------------------

  async function start() {
    const s = Kiosk.requireSession();
    if (!s) return;
    $('who').textContent = s.name;
    $('logout').addEventListener('click', Kiosk.logout);
    try {
      view.status = await api('GET', '/api/v1/admin/status');
    } catch (err) {
      if (err.status === 403) {
        notice('page-error', 'error', 'Bạn không có quyền truy cập trang này');
        document.body.dataset.denied = 'true';
      } else if (err.status !== 401) {
        notice('page-error', 'error', err.message);
      }
      return;
    }
    const summary = await api('GET', '/api/v1/summary');
    $('center-name').textContent = summary.center || 'Trung tâm';
    for (const d of summary.departments || []) view.departments[d.department] = d.name;
    view.counters = (summary.counters || []).map(function (c) {
      return { counter: c.counter, name: c.name };
    });
    view.recent = summary.last_calls || [];
    $('admin-view').hidden = false;
    setupTabs();
    setupUsers();
    setupTokens();
    setupReprint();
    setupConfig();
    setupReports();
    renderStatus();
    view.live = Kiosk.live(onLive, onLink);
    setInterval(refreshStatus, 5000);
  }

  function setupTabs() {
    const buttons = document.querySelectorAll('nav.tabs button');
    for (const button of buttons) {
      button.addEventListener('click', function () {
        for (const b of buttons) b.setAttribute('aria-selected', String(b === button));
        for (const tab of document.querySelectorAll('section.tab')) tab.hidden = tab.id !== 'tab-' + button.dataset.tab;
        if (button.dataset.tab === 'users') loadUsers();
        if (button.dataset.tab === 'tokens') loadTokens();
      });
    }
  }

  function onLink(connected) {
    if (connected) {
      notice('link-notice');
      refreshStatus();
    } else notice('link-notice', 'warn', 'Mất kết nối — đang kết nối lại…');
    document.body.dataset.link = connected ? 'up' : 'down';
  }

  // ---- live view ----------------------------------------------------------

  async function refreshStatus() {
    try {
      view.status = await api('GET', '/api/v1/admin/status');
      renderStatus();
      renderLive(view.live);
    } catch (e) {
      // The stream reports a lost link; a 401 goes to the login page.
    }
  }

  function onLive(state, kind) {
    if (kind.type === 'print_failed') {
      view.failed[kind.ticket] = kind.reason;
      renderFailed();
    } else if (kind.type === 'printed') {
      delete view.failed[kind.ticket];
      renderFailed();
    } else if (kind.type === 'called' || kind.type === 'called_chosen') {
      view.recent.unshift({
        label: kind.label, ticket: kind.ticket, counter: kind.counter, at_ms: Date.now(), recall: kind.recall,
        reason: kind.reason || null,
      });
      view.recent = view.recent.slice(0, 20);
      renderRecent();
    } else if (kind.type === 'fault' || kind.type === 'fault_cleared') {
      refreshStatus();
    }
    renderLive(state);
  }

  function renderStatus() {
    const s = view.status;
    if (!s) return;
    const p = s.printer || {};
    const known = PRINTER_STATES[p.state] || [p.state, 'warn'];
    const state = $('printer-state');
    state.textContent = known[0];
    state.dataset.state = p.state;
    const tags = $('printer-tags');
    tags.textContent = '';
    const unreachable = p.state === 'unreachable' || p.state === 'starting';
    const paper = unreachable ? ['Giấy: không rõ', ''] : p.state === 'paper_out' ? ['Hết giấy', 'bad']
      : p.paper_low ? ['Sắp hết giấy', 'warn'] : ['Còn giấy', 'ok'];
    const cover = unreachable ? ['Nắp: không rõ', ''] : p.state === 'cover_open' ? ['Nắp mở', 'bad'] : ['Nắp đóng', 'ok'];
    const online = unreachable || p.state === 'offline' ? ['Mất kết nối', 'bad'] : ['Trực tuyến', 'ok'];
    for (const [text, kind] of [paper, cover, online]) {
      tags.append(el('span', { class: 'tag ' + kind }, text), ' ');
    }
    if (p.fault && p.fault.detail) tags.append(el('div', { class: 'muted' }, p.fault.detail));
    $('stream-clients').textContent = String(s.stream_clients);
    $('service-day').textContent = (s.store && s.store.service_day) || '—';
  }

  function staffAt(counter) {
    const s = view.status;
    if (!s) return [];
    return (s.logged_in || [])
      .filter(function (p) {
        return p.role === 'staff' && (p.counters || []).includes(counter);
      })
      .map(function (p) {
        return p.name;
      });
  }

  function renderLive(state) {
    if (!state || !state.started) return;
    const tiles = $('counter-tiles');
    tiles.textContent = '';
    for (const c of view.counters) {
      const now = state.counters[c.counter];
      const staff = staffAt(c.counter);
      const st = (state.status && state.status[c.counter]) || { status: { type: 'open' } };
      const statusText = st.status.type === 'paused' ? 'Tạm dừng — ' + st.status.reason
        : st.status.type === 'closed' ? 'Đã đóng' : '';
      tiles.append(el('div', { class: 'tile', 'data-counter': c.counter, 'data-busy': now ? 'true' : 'false', 'data-status': st.status.type },
        el('div', { class: 'name' }, c.name || 'Quầy ' + c.counter),
        statusText ? el('div', { class: 'tag warn counter-status' }, statusText) : null,
        st.officer ? el('div', { class: 'officer' }, st.officer) : null,
        el('div', { class: 'number' + (now ? '' : ' empty') }, now ? now.label : '—'),
        el('div', { class: 'muted' }, now ? (now.serving ? 'Đang phục vụ' : 'Đang gọi') + ' · ' + departmentName(now.department) : 'Trống'),
        el('div', { class: 'staff' }, staff.length ? 'Nhân viên: ' + staff.join(', ') : 'Chưa có nhân viên đăng nhập')));
    }
    const rows = $('department-rows');
    rows.textContent = '';
    let total = 0;
    for (const id of Object.keys(view.departments)) {
      const q = state.departments[id] || { waiting: 0, priority_waiting: 0, issued_today: 0, estimated_wait_secs: 0 };
      total += q.waiting;
      const w = (view.status && view.status.waits && view.status.waits[id]) || null;
      const over = w && w.over_target ? w.over_target : 0;
      rows.append(el('tr', { 'data-department': id, class: over ? 'over-target' : '' },
        el('td', null, departmentName(id)),
        el('td', { class: 'waiting' }, String(q.waiting)),
        el('td', null, String(q.priority_waiting || 0)),
        el('td', null, String(q.issued_today || 0)),
        el('td', null, q.waiting ? duration((q.estimated_wait_secs || 0) * 1000) : '—'),
        el('td', { class: 'oldest' }, w && w.oldest_waiting_secs ? duration(w.oldest_waiting_secs * 1000) : '—'),
        el('td', { class: 'over' + (over ? ' over-target-mark' : '') }, w && w.target_wait_secs
          ? String(over) + ' / mục tiêu ' + duration(w.target_wait_secs * 1000) : '—')));
    }
    $('waiting-all').textContent = String(total);
  }

  function renderFailed() {
    const rows = $('failed-rows');
    rows.textContent = '';
    for (const id of Object.keys(view.failed)) {
      rows.append(el('tr', null, el('td', null, id), el('td', null, view.failed[id]),
        el('td', null, el('button', { class: 'plain', type: 'button', onclick: function () { reprint(id); } }, 'In lại'))));
    }
  }

  function renderRecent() {
    const rows = $('recent-rows');
    rows.textContent = '';
    for (const c of view.recent) {
      const how = c.recall ? ' (gọi lại)' : c.reason ? ' (gọi ngoài thứ tự: ' + c.reason + ')' : '';
      rows.append(el('tr', { 'data-ticket': c.ticket }, el('td', null, c.label + how), el('td', null, String(c.ticket)),
        el('td', null, String(c.counter)), el('td', null, clock(c.at_ms))));
    }
  }

  // ---- accounts ------------------------------------------------------------

  function setupUsers() {
    $('user-form').addEventListener('submit', async function (e) {
      e.preventDefault();
      const name = $('new-user-name').value.trim();
      try {
        await api('POST', '/api/v1/admin/users', {
          name: name,
          role: $('new-user-role').value,
          password: $('new-user-password').value,
          counters: parseCounters($('new-user-counters').value),
        });
        notice('user-notice', 'ok', 'Đã thêm tài khoản ' + name + '.');
        $('user-form').reset();
        loadUsers();
      } catch (err) {
        notice('user-notice', 'error', err.message);
      }
    });
  }

  async function loadUsers() {
    let answer;
    try {
      answer = await api('GET', '/api/v1/admin/users');
    } catch (err) {
      notice('user-notice', 'error', err.message);
      return;
    }
    const rows = $('user-rows');
    rows.textContent = '';
    for (const u of answer.users || []) {
      const counters = el('input', { value: (u.counters || []).join(', '), size: 8, 'aria-label': 'Quầy của ' + u.name });
      const password = el('input', { type: 'password', size: 10, autocomplete: 'new-password', 'aria-label': 'Mật khẩu mới của ' + u.name });
      rows.append(el('tr', { 'data-user': u.name },
        el('td', null, u.name),
        el('td', null, ROLE_NAMES[u.role] || u.role),
        el('td', null, el('span', { class: 'tag ' + (u.disabled ? 'bad' : 'ok') }, u.disabled ? 'Đã khóa' : 'Hoạt động')),
        el('td', null, u.role === 'staff' ? counters : el('span', { class: 'muted' }, 'Mọi quầy'),
          u.role === 'staff' ? el('button', { class: 'plain', type: 'button', onclick: function () {
            userAction(u.name, 'counters', { counters: parseCounters(counters.value) }, 'Đã phân quầy cho ' + u.name + '.');
          } }, 'Lưu') : null),
        el('td', null, password, el('button', { class: 'plain', type: 'button', onclick: function () {
          userAction(u.name, 'password', { password: password.value }, 'Đã đặt lại mật khẩu của ' + u.name + '.');
        } }, 'Đặt')),
        el('td', null, el('button', { class: u.disabled ? 'plain' : 'danger', type: 'button', onclick: function () {
          userAction(u.name, u.disabled ? 'enable' : 'disable', undefined,
            (u.disabled ? 'Đã mở khóa ' : 'Đã khóa ') + u.name + '.');
        } }, u.disabled ? 'Mở khóa' : 'Khóa'))));
    }
  }

  async function userAction(name, what, body, done) {
    try {
      await api('POST', '/api/v1/admin/users/' + encodeURIComponent(name) + '/' + what, body);
      notice('user-notice', 'ok', done);
      loadUsers();
    } catch (err) {
      notice('user-notice', 'error', err.message);
    }
  }

  // ---- device tokens -------------------------------------------------------

  function setupTokens() {
    $('token-form').addEventListener('submit', async function (e) {
      e.preventDefault();
      const counter = $('new-token-counter').value;
      const body = { name: $('new-token-name').value.trim(), role: $('new-token-role').value };
      if (counter) body.counter = Number(counter);
      try {
        const answer = await api('POST', '/api/v1/admin/tokens', body);
        $('token-value').textContent = answer.token;
        $('token-once').hidden = false;
        notice('token-notice', 'ok', 'Đã tạo mã cho thiết bị ' + answer.name + '.');
        $('token-form').reset();
        loadTokens();
      } catch (err) {
        $('token-once').hidden = true;
        notice('token-notice', 'error', err.message);
      }
    });
  }

  async function loadTokens() {
    let answer;
    try {
      answer = await api('GET', '/api/v1/admin/tokens');
    } catch (err) {
      notice('token-notice', 'error', err.message);
      return;
    }
    const rows = $('token-rows');
    rows.textContent = '';
    for (const t of answer.tokens || []) {
      const revoke = el('button', { class: 'danger', type: 'button' }, 'Thu hồi');
      revoke.addEventListener('click', async function () {
        if (revoke.dataset.confirm !== 'yes') {
          revoke.dataset.confirm = 'yes';
          revoke.textContent = 'Bấm lần nữa để thu hồi';
          return;
        }
        try {
          await api('DELETE', '/api/v1/admin/tokens/' + encodeURIComponent(t.name));
          notice('token-notice', 'ok', 'Đã thu hồi mã của ' + t.name + '.');
          $('token-once').hidden = true;
          loadTokens();
        } catch (err) {
          notice('token-notice', 'error', err.message);
        }
      });
      rows.append(el('tr', { 'data-token': t.name },
        el('td', null, t.name),
        el('td', null, ROLE_NAMES[t.role] || t.role),
        el('td', null, t.counter ? String(t.counter) : '—'),
        el('td', null, new Date(t.created_ms).toLocaleString('vi-VN')),
        el('td', null, revoke)));
    }
  }

  // ---- reprint -------------------------------------------------------------

  function setupReprint() {
    $('reprint-form').addEventListener('submit', function (e) {
      e.preventDefault();
      reprint($('reprint-id').value);
    });
    renderRecent();
  }

  async function reprint(id) {
    try {
      await api('POST', '/api/v1/admin/tickets/' + encodeURIComponent(id) + '/reprint');
      notice('reprint-notice', 'ok', 'Đã in lại phiếu ' + id + '.');
      delete view.failed[id];
      renderFailed();
    } catch (err) {
      notice('reprint-notice', 'error', err.message);
    }
  }

  // ---- configuration -------------------------------------------------------

  function setupConfig() {
    $('config-file').addEventListener('change', function () {
      const file = $('config-file').files[0];
      if (!file) return;
      const reader = new FileReader();
      reader.onload = function () {
        $('config-text').value = String(reader.result);
      };
      reader.readAsText(file);
    });
    $('config-validate').addEventListener('click', function () {
      sendConfig('validate');
    });
    $('config-apply').addEventListener('click', function () {
      sendConfig('reload');
    });
  }

  async function sendConfig(what) {
    const text = $('config-text').value;
    notice('config-notice');
    $('config-problems').hidden = true;
    if (!text.trim()) {
      notice('config-notice', 'warn', 'Hãy dán hoặc chọn tệp cấu hình trước.');
      return;
    }
    try {
      const answer = await api('POST', '/api/v1/admin/config/' + what, text);
      const extra = (answer.warnings || []).concat(answer.notes || []);
      const head = what === 'validate'
        ? 'Cấu hình hợp lệ. ' + (answer.summary || '')
        : 'Đã áp dụng cấu hình mới' + (answer.saved ? ' và lưu vào tệp.' : '.');
      notice('config-notice', 'ok', head);
      if (extra.length) {
        $('config-problems').textContent = extra.join('\n');
        $('config-problems').hidden = false;
      }
    } catch (err) {
      notice('config-notice', 'error', err.message);
      const problems = err.body && err.body.problems;
      if (problems && problems.length) {
        $('config-problems').textContent = problems.join('\n');
        $('config-problems').hidden = false;
      }
    }
  }

  // ---- reports -------------------------------------------------------------

  function today() {
    const d = new Date();
    return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
  }

  function setupReports() {
    // The kiosk's service day, not the browser's date: they differ around
    // midnight and when the browser's clock or time zone is off.
    const day = (view.status && view.status.store && view.status.store.service_day) || today();
    $('report-from').value = day;
    $('report-to').value = day;
    $('report-form').addEventListener('submit', function (e) {
      e.preventDefault();
      loadReport();
    });
  }

  /** Hours without tickets get an empty bar, so the axis reads as a day. */
  function fillHours(rows) {
    const hours = rows.map(function (r) { return parseInt(r.label, 10); });
    if (!rows.length || hours.some(isNaN)) return rows;
    const byHour = {};
    rows.forEach(function (r, i) { byHour[hours[i]] = r; });
    const out = [];
    for (let h = Math.min(...hours); h <= Math.max(...hours); h++) {
      out.push(byHour[h] || { label: String(h).padStart(2, '0') + 'h', issued: 0, wait: 0 });
    }
    return out;
  }

  /** The rows of a report, whatever the exact shape of the answer. */
  function reportRows(data) {
    const list = Array.isArray(data) ? data : data && (data.rows || data.groups || data.report || data.hours);
    if (!Array.isArray(list)) return [];
    return list.map(function (r) {
      const waiting = r.waiting || {};
      return {
        label: String(r.hour !== undefined ? r.hour : r.key !== undefined ? r.key : r.group !== undefined ? r.group : r.label) + 'h',
        issued: Number(r.issued !== undefined ? r.issued : r.tickets || 0),
        wait: Number(waiting.p50_secs !== undefined ? waiting.p50_secs
          : waiting.mean_secs !== undefined ? waiting.mean_secs
            : r.waiting_p50_secs !== undefined ? r.waiting_p50_secs : 0),
      };
    });
  }

  async function loadReport() {
    const box = $('report-charts');
    box.textContent = '';
    notice('report-notice');
    const query = '?from=' + encodeURIComponent($('report-from').value) + '&to=' + encodeURIComponent($('report-to').value) + '&by=hour';
    let data;
    try {
      data = await api('GET', '/api/v1/reports' + query);
    } catch (err) {
      notice('report-notice', err.status === 404 ? 'warn' : 'error', err.status === 404 ? 'Chưa có báo cáo' : err.message);
      return;
    }
    const rows = fillHours(reportRows(data));
    if (!rows.length) {
      notice('report-notice', 'warn', 'Không có phiếu nào trong những ngày này.');
      return;
    }
    const total = data && data.total;
    if (total) {
      const wait = total.waiting && total.waiting.p50_secs;
      box.append(el('p', null, 'Tổng cộng ' + (total.issued || 0) + ' phiếu, đã phục vụ ' + (total.served || 0) +
        ', vắng mặt ' + (total.no_show || 0) + (wait !== null && wait !== undefined ? ', thời gian chờ trung vị ' + duration(wait * 1000) : '') + '.'));
    }
    box.append(el('h3', null, 'Số phiếu theo giờ'), barChart(rows, 'issued', '', function (v) { return String(v); }));
    box.append(el('h3', null, 'Thời gian chờ (trung vị) theo giờ'), barChart(rows, 'wait', 'wait', function (v) { return Math.round(v / 60) + "'"; }));
    await loadRatings(box);
  }

  /** The per-officer rating table (read only: ratings are never edited). */
  async function loadRatings(box) {
    const range = '?from=' + encodeURIComponent($('report-from').value) + '&to=' + encodeURIComponent($('report-to').value) + '&by=staff';
    let data;
    try {
      data = await api('GET', '/api/v1/reports' + range);
    } catch (err) {
      box.append(el('p', { class: 'notice error' }, 'Không đọc được đánh giá: ' + err.message));
      return;
    }
    const levels = (data && data.levels) || [];
    const count = function (row, id) {
      const found = ((row.ratings && row.ratings.levels) || []).find(function (l) { return l.level === id; });
      return found ? found.count : 0;
    };
    const share = function (row) {
      const p = row.ratings && row.ratings.satisfied_share_pct;
      return p === null || p === undefined ? '–' : p.toFixed(1) + '%';
    };
    const line = function (row, tag) {
      return el('tr', null, el(tag, null, row.name), el('td', null, String((row.ratings && row.ratings.total) || 0)),
        ...levels.map(function (l) { return el('td', null, String(count(row, l.id))); }), el('td', null, share(row)));
    };
    const head = el('tr', null, el('th', null, 'Cán bộ'), el('th', null, 'Lượt đánh giá'),
      ...levels.map(function (l) { return el('th', null, l.label); }), el('th', null, 'Tỷ lệ hài lòng'));
    const table = el('table', { id: 'ratings-table' }, el('thead', null, head),
      el('tbody', null, ...(data.rows || []).map(function (r) { return line(r, 'td'); }), line(data.total, 'th')));
    const satisfied = levels.filter(function (l) { return l.satisfied; }).map(function (l) { return l.label; }).join(' + ');
    box.append(el('h3', null, 'Đánh giá mức độ hài lòng theo cán bộ'), table,
      el('p', null, 'Hài lòng = ' + satisfied + '. ',
        el('a', { href: '/api/v1/reports' + range + '&ratings=true&format=csv', download: '' }, 'Tải CSV')));
  }

  /** A bar chart as inline SVG, drawn by hand. */
  function barChart(rows, field, kind, format) {
    const NS = 'http://www.w3.org/2000/svg';
    const width = 760;
    const height = 220;
    const left = 10;
    const bottom = 24;
    const top = 18;
    const max = Math.max(1, ...rows.map(function (r) { return r[field]; }));
    const step = (width - left * 2) / rows.length;
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('class', 'chart');
    svg.setAttribute('role', 'img');
    function add(tag, attrs, text) {
      const node = document.createElementNS(NS, tag);
      for (const k of Object.keys(attrs)) node.setAttribute(k, attrs[k]);
      if (text !== undefined) node.textContent = text;
      svg.append(node);
      return node;
    }
    add('line', { x1: left, y1: height - bottom, x2: width - left, y2: height - bottom, stroke: '#aab6c2' });
    rows.forEach(function (r, i) {
      const h = ((height - bottom - top) * r[field]) / max;
      const w = Math.min(step * 0.7, 44);
      const x = left + i * step + (step - w) / 2;
      add('rect', { class: 'bar ' + kind, x: x, y: height - bottom - h, width: w, height: h });
      add('text', { x: x + w / 2, y: height - bottom - h - 4, 'text-anchor': 'middle' }, format(r[field]));
      add('text', { x: x + w / 2, y: height - 8, 'text-anchor': 'middle' }, r.label);
    });
    return svg;
  }

  start();
})();
