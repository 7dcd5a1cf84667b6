// The picture at a past time, from the archive (GET /api/picture?at=&lookback_s=), played forward step by
// step; the page's URL keeps its time and lookback (aids.js), so a shared link opens the same picture. While it is shown the header says HISTORY (never LIVE), the map is framed, the live track updates
// are set aside (the inbox stays live), and "Back to live" asks the server for a fresh live snapshot.
import { store, bus } from './state.js';
import { hasFeature } from './vocab.js';
import { fetchJson } from './api.js';
import { link } from './link.js';
import { renderFreshness } from './status.js';
import { $, el, eventMs, fmtTime } from './util.js';

const LOOKBACKS_MIN = [10, 30, 60, 180];
const STEPS_MIN = [1, 5, 10, 30];
const PLAY_MS = 1000;

export const past = { atMs: NaN, loading: false, timer: 0, count: 0 };

function button(id, text, label) {
  const b = el('button', 'time-btn', text);
  b.type = 'button';
  b.id = id;
  if (label) b.setAttribute('aria-label', label);
  return b;
}

function select(id, values, unit, chosen) {
  const s = el('select');
  s.id = id;
  for (const v of values) {
    const o = el('option', null, v + ' ' + unit);
    o.value = String(v);
    if (v === chosen) o.selected = true;
    s.appendChild(o);
  }
  return s;
}

function labelled(text, control) {
  const lab = el('label', null, text + ' ');
  lab.appendChild(control);
  return lab;
}

// datetime-local values are read and written as UTC (the page shows UTC everywhere)
function toInput(ms) {
  return new Date(ms).toISOString().slice(0, 16);
}

function fromInput(v) {
  return eventMs(v ? v + ':00Z' : '');
}

function build(box) {
  box.appendChild(el('h2', null, 'History'));
  const r1 = el('div', 'time-row');
  const at = el('input');
  at.type = 'datetime-local';
  at.id = 'hist-at';
  at.step = '60';
  at.setAttribute('aria-label', 'Picture time (UTC)');
  const since = Number.isFinite(store.lastDataMs) ? store.lastDataMs : Date.now();
  at.value = toInput(since - 3600 * 1000);
  const show = button('hist-show', 'Show');
  show.setAttribute('aria-label', 'Show the picture at that time');
  r1.append(at, labelled('Lookback', select('hist-lookback', LOOKBACKS_MIN, 'min', 30)), show);
  const r2 = el('div', 'time-row');
  r2.setAttribute('role', 'group');
  r2.setAttribute('aria-label', 'History controls');
  const back = button('hist-back', '◀ step', 'Step back');
  const fwd = button('hist-forward', 'step ▶', 'Step forward');
  const play = button('hist-play', 'Play');
  const live = button('hist-live', 'Back to live');
  r2.append(back, fwd, labelled('Step', select('hist-step', STEPS_MIN, 'min', 5)), play, live);
  const status = el('div', 'time-status muted');
  status.id = 'hist-status';
  status.setAttribute('role', 'status');
  box.append(r1, r2, status);
  for (const b of [back, fwd, play, live]) b.disabled = true;

  show.addEventListener('click', () => {
    const ms = fromInput(at.value);
    if (!Number.isFinite(ms)) {
      status.textContent = 'Pick a date and time first.';
      return;
    }
    stopPlay();
    load(ms);
  });
  back.addEventListener('click', () => { stopPlay(); load(past.atMs - stepMs()); });
  fwd.addEventListener('click', () => { stopPlay(); load(past.atMs + stepMs()); });
  play.addEventListener('click', () => (past.timer ? stopPlay() : startPlay()));
  live.addEventListener('click', backToLive);
}

function stepMs() {
  return Number($('hist-step').value) * 60 * 1000;
}

function startPlay() {
  $('hist-play').textContent = 'Stop';
  $('hist-play').setAttribute('aria-pressed', 'true');
  past.timer = window.setInterval(() => {
    if (!past.loading) load(past.atMs + stepMs());
  }, PLAY_MS);
}

function stopPlay() {
  if (past.timer) window.clearInterval(past.timer);
  past.timer = 0;
  const play = $('hist-play');
  play.textContent = 'Play';
  play.setAttribute('aria-pressed', 'false');
}

async function load(ms) {
  if (!Number.isFinite(ms)) return;
  const status = $('hist-status');
  const lookback = Number($('hist-lookback').value) * 60;
  past.loading = true;
  let doc;
  try {
    doc = await fetchJson('/api/picture?at=' + encodeURIComponent(new Date(ms).toISOString()) + '&lookback_s=' + lookback);
  } catch (e) {
    status.textContent = 'No picture: ' + String(e.message || e);
    past.loading = false;
    return;
  }
  past.loading = false;
  if (!doc || !Array.isArray(doc.tracks)) return;
  enter(ms);
  store.tracks.clear();
  for (const tr of doc.tracks) {
    if (!tr || typeof tr.key !== 'string') continue;
    tr._ms = eventMs(tr.t);
    store.tracks.set(tr.key, tr);
  }
  past.count = store.tracks.size;
  $('hist-at').value = toInput(ms);
  status.textContent = 'HISTORY picture at ' + fmtTime(ms, true) + ' · ' + past.count + ' tracks seen in the '
    + (lookback / 60) + ' min before' + (doc.truncated ? ' (cut to the newest)' : '');
  $('time-box').dataset.history = fmtTime(ms, true);
  bus.emit('tracks');
  bus.emit('history');
  if (store.selected) bus.emit('select', store.tracks.has(store.selected) ? store.selected : null);
}

function enter(ms) {
  past.atMs = ms;
  store.timeMode = 'history';
  store.timeWord = fmtTime(ms, true);
  store.lastDataMs = ms; // age-out, trails and the freshness box count from the picture's time
  store.pace = [];
  document.body.classList.add('history-mode');
  for (const id of ['hist-back', 'hist-forward', 'hist-play', 'hist-live']) $(id).disabled = false;
  renderFreshness();
}

function backToLive() {
  stopPlay();
  past.atMs = NaN;
  store.timeMode = 'live';
  store.timeWord = '';
  store.lastDataMs = NaN;
  store.tracks.clear();
  document.body.classList.remove('history-mode');
  delete $('time-box').dataset.history;
  for (const id of ['hist-back', 'hist-forward', 'hist-play', 'hist-live']) $(id).disabled = true;
  $('hist-status').textContent = 'Back to the live picture.';
  bus.emit('tracks');
  bus.emit('history');
  // the live updates were set aside meanwhile: a new connection brings a fresh snapshot
  if (link.ws) link.ws.close();
}

export function inHistory() {
  return store.timeMode === 'history';
}

// The past picture on screen, for the page's URL (aids.js): its time and lookback, or null when live.
export function pastShown() {
  if (!inHistory() || !Number.isFinite(past.atMs)) return null;
  return { atMs: past.atMs, lookbackMin: Number($('hist-lookback').value) };
}

// A shared link asks for the picture at `ms` (with a lookback of `lookbackMin` if it is one offered):
// it is shown as soon as the controls are there, on a server that has past pictures.
let wanted = null;
export function showPastFromLink(ms, lookbackMin) {
  if (!Number.isFinite(ms)) return;
  wanted = { ms, lookbackMin };
  if ($('hist-at')) openWanted();
}

function openWanted() {
  if (!wanted) return;
  const w = wanted;
  wanted = null;
  if (LOOKBACKS_MIN.includes(w.lookbackMin)) $('hist-lookback').value = String(w.lookbackMin);
  $('hist-at').value = toInput(w.ms);
  load(w.ms);
}

export function initPastView() {
  if (!hasFeature('past_picture')) return;
  $('history-controls').hidden = false;
  $('time-box').hidden = false;
  build($('history-controls'));
  openWanted();
}
