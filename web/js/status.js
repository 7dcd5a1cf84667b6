// The header and strip: link state, service readiness, freshness of the data, feed health.
import { store } from './state.js';
import { $, el, num, fmtTime, fmtAge, fmtNum } from './util.js';

const FRESH_S = 60;
const STALE_S = 300;
const PACE_WINDOW_MS = 5000; // event-time pace needs this much wall time before replay can be told apart

// What the header says for a past picture or a served replay: HISTORY or REPLAY, with its time.
function timeModeWord() {
  return store.timeMode.toUpperCase() + (store.timeWord ? ' · ' + store.timeWord : '');
}

export function setConn(cls, text) {
  const c = $('conn');
  c.className = 'conn ' + cls;
  c.textContent = text;
  document.body.classList.toggle('link-down', cls !== 'conn-ok');
  // a link that comes up while a past picture or a served replay is shown must not say LIVE, even
  // for the moment until the next freshness render
  if (cls === 'conn-ok' && store.timeMode !== 'live') {
    c.textContent = timeModeWord();
    c.classList.toggle('conn-history', store.timeMode === 'history');
  }
}

// Event time running faster than this clock means a recording is being replayed: say so instead of
// calling an old but moving picture stale. Until the pace is known (the first seconds after a load or a
// new snapshot) an old picture is "checking", not STALE, so a replay never flashes a false red STALE.
export function freshness(now) {
  const age = (now - store.lastDataMs) / 1000;
  const hist = store.pace;
  hist.push([now, store.lastDataMs]);
  while (hist.length > 2 && now - hist[0][0] > 60000) hist.shift();
  const dWall = now - hist[0][0];
  const known = dWall >= PACE_WINDOW_MS;
  const pace = known ? (store.lastDataMs - hist[0][1]) / dWall : NaN;
  const replay = age > STALE_S && pace > 1.5;
  const checking = age > STALE_S && !known;
  const stale = age > STALE_S && known && !replay;
  return { age, pace, replay, checking, stale };
}

export function renderFreshness() {
  const box = $('freshness');
  const now = Date.now();
  $('clock').textContent = fmtTime(now, false);
  if (!Number.isFinite(store.lastDataMs)) {
    box.className = 'fresh-unknown';
    return;
  }
  const f = freshness(now);
  $('last-data').textContent = fmtTime(store.lastDataMs, true);
  $('last-data-age').textContent = f.age < -5 ? 'event time is ' + fmtAge(-f.age) + ' ahead of this clock'
    : f.replay ? 'REPLAY at ' + Math.round(f.pace) + 'x real time (data from ' + fmtAge(f.age) + ' ago)'
      : f.checking ? fmtAge(f.age) + ' ago (checking whether this is a replay…)'
        : fmtAge(f.age) + ' ago' + (f.stale ? ' — STALE PICTURE' : '');
  box.className = f.age <= FRESH_S ? 'fresh-ok' : f.stale ? 'fresh-stale' : 'fresh-warn';
  // the header says LIVE only for a live picture: a replay or a stale picture says so there too
  const conn = $('conn');
  if (store.timeMode !== 'live' && (conn.classList.contains('conn-ok') || store.timeMode === 'history')) {
    // a past picture or a served replay says so whatever the pace (a paused replay is not STALE)
    conn.textContent = timeModeWord();
    $('last-data-age').textContent = store.timeMode === 'history'
      ? 'HISTORY: the picture at this time, from the archive (not live)'
      : 'REPLAY of a recording, paced by the server (' + (store.timeWord || '…') + ')';
    conn.classList.toggle('conn-stale', false);
    conn.classList.toggle('conn-history', store.timeMode === 'history');
    box.className = 'fresh-warn';
    return;
  }
  conn.classList.toggle('conn-history', false);
  if (conn.classList.contains('conn-ok')) {
    conn.textContent = f.replay ? 'REPLAY' : f.stale ? 'STALE' : 'LIVE';
    conn.classList.toggle('conn-stale', f.stale);
  }
}

export function renderFeeds() {
  const span = $('feed-list');
  const since = (Date.now() - store.feedsAt) / 1000;
  const chips = [];
  for (const f of store.feeds) {
    const age = num(f.last_msg_age_s);
    const liveAge = age === null ? null : age + (f.connected ? since : 0);
    // the server's verdict when it gives one: a feed whose lines are all dropped is not up
    const st = typeof f.state === 'string' ? f.state : (f.connected ? 'up' : 'down');
    const bad = !f.connected || st === 'dropping';
    const warn = !bad && (liveAge === null || liveAge > FRESH_S || st === 'idle');
    const chip = el('span', 'feed ' + (bad ? 'feed-bad' : warn ? 'feed-warn' : 'feed-ok'));
    chip.appendChild(el('span', 'dot'));
    chip.appendChild(el('span', 'feed-name', f.name || '?'));
    chip.appendChild(el('span', 'muted', ' ' + [f.kind, f.transport].filter(Boolean).join('/')));
    const word = { up: 'up', idle: 'idle', dropping: 'DROPPING ALL LINES', down: 'DOWN' }[st] || 'DOWN';
    chip.appendChild(el('span', null, ' ' + word));
    if (num(f.records_used_per_s) !== null) chip.appendChild(el('span', null, ' · used ' + fmtNum(f.records_used_per_s, 1, '/s')));
    chip.appendChild(el('span', null, ' · ' + fmtNum(f.msgs_per_s, 1, ' msg/s')));
    chip.appendChild(el('span', null, ' · last ' + fmtAge(liveAge === null ? NaN : liveAge)));
    const rejects = f.rejects && typeof f.rejects === 'object' ? f.rejects : {};
    const total = Object.values(rejects).reduce((s, n) => s + (num(n) || 0), 0);
    const rej = el('span', total ? 'rejects' : null, ' · rejects ' + total);
    rej.title = Object.entries(rejects).map(([r, n]) => r + ': ' + n).join('\n') || 'no rejects';
    chip.appendChild(rej);
    chip.appendChild(el('span', null, ' · reconnects ' + (num(f.reconnects) ?? 0)));
    chips.push(chip);
  }
  if (!chips.length) chips.push(el('span', 'muted', 'no feeds reported'));
  span.replaceChildren(...chips);
}

export function acceptFeeds(feeds) {
  if (!Array.isArray(feeds)) return;
  store.feeds = feeds;
  store.feedsAt = Date.now();
  renderFeeds();
}

// The service's readiness (the same report as GET /readyz and the MQTT health topic).
export function acceptHealth(h) {
  if (!h || typeof h !== 'object') return;
  store.health = h;
  const c = $('service-health');
  const reasons = Array.isArray(h.reasons) ? h.reasons.map(String) : [];
  c.className = 'conn ' + (h.ready ? 'conn-ok' : 'conn-bad');
  c.textContent = h.ready ? 'SERVICE READY' : 'SERVICE NOT READY · ' + reasons.join(', ').replace(/_/g, ' ');
  const details = [];
  for (const [name, ck] of Object.entries(h.checks || {})) {
    if (ck && !ck.ok) details.push(name + ': ' + String(ck.detail || ck.reason || 'failing'));
  }
  c.title = details.length ? details.join('\n') : 'all checks pass';
}
