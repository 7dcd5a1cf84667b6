// Time controls of a served replay (`mdacentre replay --serve`): pause, speed and scrub. The server's
// replay clock (GET/POST /api/replay/clock) does the pacing; the page only asks it and shows its state.
// A server without a replay clock (the live service) does not list "replay_clock" in its vocabulary's
// features, and the controls stay hidden.
import { store } from './state.js';
import { hasFeature } from './vocab.js';
import { fetchJson, postJson } from './api.js';
import { renderFreshness } from './status.js';
import { $, el, eventMs, fmtTime } from './util.js';

export const SPEEDS = [1, 10, 60, 300, 900, 3600];
const POLL_MS = 1000;
const STEP_MS = 10 * 60 * 1000;

export const replay = { clock: null, busy: false };

function button(id, text) {
  const b = el('button', 'time-btn', text);
  b.type = 'button';
  b.id = id;
  return b;
}

function build(box) {
  const head = el('h2', null, 'Replay');
  const r1 = el('div', 'time-row');
  r1.setAttribute('role', 'group');
  r1.setAttribute('aria-label', 'Replay controls');
  const pause = button('time-pause', 'Pause');
  const back = button('time-back', '−10 min');
  back.setAttribute('aria-label', 'Back 10 minutes');
  const fwd = button('time-forward', '+10 min');
  fwd.setAttribute('aria-label', 'Forward 10 minutes');
  const speedLab = el('label', null, 'Speed ');
  const speed = el('select');
  speed.id = 'time-speed';
  for (const s of SPEEDS) {
    const o = el('option', null, s + '×');
    o.value = String(s);
    speed.appendChild(o);
  }
  speedLab.appendChild(speed);
  r1.append(pause, back, fwd, speedLab);
  const r2 = el('div', 'time-row');
  const scrub = el('input');
  scrub.type = 'range';
  scrub.id = 'time-scrub';
  scrub.step = '60000';
  scrub.setAttribute('aria-label', 'Replay position');
  r2.appendChild(scrub);
  const status = el('div', 'time-status muted');
  status.id = 'time-status';
  status.setAttribute('role', 'status');
  box.append(head, r1, r2, status);

  pause.addEventListener('click', () => control(replay.clock && replay.clock.state === 'paused' ? { action: 'resume' } : { action: 'pause' }));
  speed.addEventListener('change', () => control({ action: 'speed', speed: Number(speed.value) }));
  scrub.addEventListener('change', () => control({ action: 'seek', to: new Date(Number(scrub.value)).toISOString() }));
  back.addEventListener('click', () => skip(-STEP_MS));
  fwd.addEventListener('click', () => skip(STEP_MS));
}

function skip(dms) {
  const now = replay.clock ? eventMs(replay.clock.event_time) : NaN;
  if (Number.isFinite(now)) control({ action: 'seek', to: new Date(now + dms).toISOString() });
}

async function control(body) {
  const status = $('time-status');
  try {
    accept(await postJson('/api/replay/clock', body));
  } catch (e) {
    if (status) status.textContent = 'Replay control refused: ' + String(e.message || e);
  }
}

function accept(clock) {
  if (!clock || typeof clock.state !== 'string') return;
  replay.clock = clock;
  store.timeMode = store.timeMode === 'history' ? 'history' : 'replay';
  if (store.timeMode === 'replay') {
    store.timeWord = clock.state === 'playing' ? clock.speed + '×' : clock.state.toUpperCase();
  }
  render();
  renderFreshness();
}

function render() {
  const c = replay.clock;
  if (!c) return;
  const pause = $('time-pause');
  pause.textContent = c.state === 'paused' ? 'Resume' : 'Pause';
  pause.setAttribute('aria-pressed', String(c.state === 'paused'));
  const speed = $('time-speed');
  if (![...speed.options].some((o) => Number(o.value) === c.speed)) {
    const o = el('option', null, c.speed + '×'); // the speed the replay was started with
    o.value = String(c.speed);
    speed.appendChild(o);
  }
  if (document.activeElement !== speed) speed.value = String(c.speed);
  const now = eventMs(c.event_time);
  const start = eventMs(c.start);
  const end = Math.max(eventMs(c.end) || 0, now || 0);
  const scrub = $('time-scrub');
  if (Number.isFinite(start) && end > start) {
    scrub.min = String(start);
    scrub.max = String(end);
    if (document.activeElement !== scrub && Number.isFinite(now)) scrub.value = String(now);
    scrub.setAttribute('aria-valuetext', fmtTime(now, true));
  }
  const where = c.state === 'seeking' ? 'seeking to ' + fmtTime(eventMs(c.seek_target), true) : 'at ' + fmtTime(now, true);
  $('time-status').textContent = c.state + (c.state === 'playing' ? ' at ' + c.speed + '×' : '') + ' · ' + where
    + (Number.isFinite(start) ? ' · recording ' + fmtTime(start, true) + ' – ' + fmtTime(eventMs(c.end), true) : '');
  $('time-box').dataset.state = c.state;
}

async function poll() {
  if (replay.busy) return;
  replay.busy = true;
  try {
    accept(await fetchJson('/api/replay/clock'));
  } catch {
    // a missed poll: the next one tries again
  } finally {
    replay.busy = false;
  }
}

export function initTimeControls() {
  if (!hasFeature('replay_clock')) return;
  const box = $('replay-controls');
  box.hidden = false;
  $('time-box').hidden = false;
  build(box);
  poll();
  window.setInterval(poll, POLL_MS);
}
