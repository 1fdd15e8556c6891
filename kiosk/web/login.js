// The login page: name + password → session cookie and CSRF token, then
// on to `?next=` or the page of the account's role.
'use strict';

(function () {
  const { api, $, notice } = Kiosk;

  /** Only a path on this kiosk, never another site. */
  function nextPage(role) {
    const next = new URLSearchParams(location.search).get('next');
    if (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login')) return next;
    return role === 'admin' ? '/admin' : '/console';
  }

  $('login-form').addEventListener('submit', async function (e) {
    e.preventDefault();
    notice('login-error');
    const button = $('login-button');
    button.disabled = true;
    try {
      const answer = await api('POST', '/api/v1/login', {
        name: $('name').value.trim(),
        password: $('password').value,
      }, { stay: true });
      Kiosk.saveSession({
        csrf: answer.csrf_token,
        name: answer.name,
        role: answer.role,
        counters: answer.counters || [],
      });
      location.replace(nextPage(answer.role));
    } catch (err) {
      notice('login-error', 'error', err.message);
      $('password').value = '';
      $('password').focus();
    } finally {
      button.disabled = false;
    }
  });
})();
