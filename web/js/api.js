// HTTP calls to the server. A 401 means the session ended: the page goes to the sign-in page.
// Writes carry the session's CSRF token (cookie mda_csrf, or GET /api/session) in X-CSRF-Token.

function toLogin() {
  window.location.assign('/login');
}

export async function fetchJson(url) {
  const resp = await fetch(url, { cache: 'no-cache', credentials: 'same-origin' });
  if (resp.status === 401) toLogin();
  if (!resp.ok) throw new Error(url + ' answered HTTP ' + resp.status);
  return resp.json();
}

function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

let csrf = '';
let who = null; // {name, role, agency} once signed in (null: no sign-in on this server)

// Only a signed-in page has the CSRF cookie; without it the server has no sign-in (nothing to ask).
export async function loadSession() {
  if (!cookie('mda_csrf')) return null;
  try {
    const resp = await fetch('/api/session', { cache: 'no-store', credentials: 'same-origin' });
    if (!resp.ok) return null;
    const doc = await resp.json();
    csrf = typeof doc.csrf === 'string' ? doc.csrf : '';
    who = doc && typeof doc.name === 'string' ? doc : null;
  } catch {
    who = null;
  }
  return who;
}

export function signedIn() {
  return who;
}

export async function postJson(url, body) {
  const token = cookie('mda_csrf') || csrf;
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers['X-CSRF-Token'] = token;
  const resp = await fetch(url, {
    method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin',
  });
  if (resp.status === 401) toLogin();
  let doc = {};
  try {
    doc = await resp.json();
  } catch {
    doc = {};
  }
  if (!resp.ok) throw new Error(doc.error || url + ' answered HTTP ' + resp.status);
  return doc;
}

// POST /api/alerts/{id}/ack: action "acknowledge" or "retract", with a note. `by` is used only by a
// server without sign-in; with sign-in the server names the signed-in person.
// A signed-in server refuses a `by` field (the session names the person), so it is sent only without one.
export function ackAlert(id, action, note, by) {
  const body = { action, note };
  if (by && !who) body.by = by;
  return postJson('/api/alerts/' + encodeURIComponent(id) + '/ack', body);
}
