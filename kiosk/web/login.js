// The login page: name + password → session cookie and CSRF token, then
// on to `?next=` or the page of the account's role.
'use strict';

/**
 * Where `?next=` may lead after a login: a page of this kiosk only. The URL
 * parser decides, not string tests: browsers read `/\evil.example` or
 * `/<tab>/evil.example` as `//evil.example`, another site.
 * Returns the path to go to, or null.
 */
function safeNext(next, origin) {
  if (typeof next !== 'string' || !next.startsWith('/')) return null;
  let url;
  try {
    url = new URL(next, origin);
  } catch (_) {
    return null;
  }
  if (url.origin !== origin) return null;
  if (url.pathname.startsWith('/login') || url.pathname.startsWith('/api/')) return null;
  return url.pathname + url.search + url.hash;
}

(function () {
  const { api, $, notice } = Kiosk;

  function nextPage(role) {
    const next = safeNext(new URLSearchParams(location.search).get('next'), location.origin);
    if (next) return next;
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
