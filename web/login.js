// Sign-in page: POST the name and password as JSON to /api/session, then open the map.
'use strict';
(function () {
  const form = document.getElementById('login-form');
  const error = document.getElementById('login-error');
  fetch('/api/session/providers', { cache: 'no-store' })
    .then((r) => r.json())
    .then((p) => { document.getElementById('login-oidc').hidden = !p.oidc; })
    .catch(() => { /* the password form still works */ });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const body = {
      name: document.getElementById('login-name').value.trim(),
      password: document.getElementById('login-password').value,
    };
    try {
      const resp = await fetch('/api/session', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        credentials: 'same-origin',
      });
      if (resp.ok) {
        window.location.assign('/');
        return;
      }
      const doc = await resp.json().catch(() => ({}));
      error.textContent = doc.error || 'Sign-in failed (' + resp.status + ')';
    } catch (err) {
      error.textContent = 'Sign-in failed: ' + err.message;
    }
    error.hidden = false;
  });
})();
