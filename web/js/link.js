// The WebSocket to /ws: snapshot then deltas, reconnect with backoff, a watchdog for a silent server.
// A close with code 4401 means no session: the page goes to the sign-in page.
import { store, bus, noteDataTime } from './state.js';
import { acceptAlert } from './inbox.js';
import { applySlice } from './trackstore.js';
import { acceptFeeds, acceptHealth, setConn } from './status.js';
import { eventMs } from './util.js';

const HEARTBEAT_TIMEOUT_MS = 45000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

export const link = { lastHandleMs: 0, ws: null, attempt: 0, lastMsgAt: 0, retryAt: 0, timer: 0, connected: false };

function takeAlert(a) {
  if (!a || a.id === undefined || a.id === null) {
    store.badMessages += 1;
    return;
  }
  a._ms = eventMs(a.time);
  noteDataTime(a._ms);
  acceptAlert(a);
}

// A snapshot clears the picture; its tracks follow in `tracks` frames, then `synced`.
function onSnapshot(msg) {
  if (store.timeMode !== 'history') {
    store.tracks.clear();
    store.lastDataMs = NaN;
    store.pace = [];
  }
  store.alerts.clear();
  store.snapshotDone = false;
  store.synced = false;
  for (const a of msg.alerts || []) takeAlert(a);
  store.snapshotDone = true; // alerts from here on arrived after the page loaded
  if (msg.feeds) acceptFeeds(msg.feeds);
  if (msg.health) acceptHealth(msg.health);
  bus.emit('tracks');
  bus.emit('alerts');
  bus.emit('snapshot');
}

// A past picture (pastview.js) is shown: the live tracks are set aside; "Back to live" reconnects,
// which brings a fresh snapshot (the server's record of what this client has starts again with it).
function onSlice(slice) {
  if (store.timeMode === 'history') return;
  applySlice(slice);
  if (slice.last) bus.emit('tracks');
}

function onMessage(msg) {
  switch (msg && msg.type) {
    case 'snapshot': onSnapshot(msg); break;
    case 'synced': store.synced = true; bus.emit('tracks'); break;
    case 'alert': takeAlert(msg.alert); bus.emit('alerts'); break;
    case 'feeds': acceptFeeds(msg.feeds); break;
    case 'health': acceptHealth(msg.health); break;
    case 'note': bus.emit('note', msg.note); break;
    case 'heartbeat': break;
    default: store.badMessages += 1;
  }
}

// The socket lives in a worker (wsworker.js) so that receiving and parsing a large frame does not
// hold the main thread; `Sock` gives it the WebSocket-like surface the link logic uses. One worker for
// the page's life: it is loaded while the server is up, so reconnecting never needs to fetch it again.
let worker = null;
let current = null; // the Sock the worker's events belong to

function theWorker() {
  if (worker) return worker;
  worker = new Worker('/static/js/wsworker.js', { type: 'module' });
  worker.onmessage = (e) => {
    const s = current;
    const d = e.data;
    if (!s) return;
    if (d.ev === 'tracks' && s.onslice) s.onslice(d);
    else if (d.ev === 'msg' && s.onmessage) s.onmessage(d.msg);
    else if (d.ev === 'open' && s.onopen) s.onopen();
    else if (d.ev === 'bad' && s.onbad) s.onbad();
    else if (d.ev === 'close') {
      current = null;
      if (s.onclose) s.onclose({ code: d.code });
    }
  };
  return worker;
}

class Sock {
  constructor(url) {
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onbad = null;
    this.onslice = null;
    current = this;
    theWorker().postMessage({ cmd: 'connect', url });
  }

  close() {
    theWorker().postMessage({ cmd: 'close' });
  }
}

export function connect() {
  link.timer = 0;
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  let ws;
  try {
    ws = new Sock(url);
  } catch {
    scheduleReconnect();
    return;
  }
  link.ws = ws;
  // after a lost link the status stays LINK DOWN until the feed is LIVE again
  if (link.attempt > 0) setConn('conn-bad', 'LINK DOWN · reconnecting');
  else setConn('conn-wait', 'CONNECTING');
  ws.onopen = () => {
    link.attempt = 0;
    link.connected = true;
    link.lastMsgAt = Date.now();
    setConn('conn-ok', 'LIVE');
  };
  ws.onbad = () => {
    link.lastMsgAt = Date.now();
    store.badMessages += 1;
  };
  ws.onmessage = (msg) => {
    link.lastMsgAt = Date.now();
    const t0 = performance.now();
    onMessage(msg);
    link.lastHandleMs = performance.now() - t0;
  };
  ws.onslice = (slice) => {
    link.lastMsgAt = Date.now();
    const t0 = performance.now();
    onSlice(slice);
    link.lastHandleMs = performance.now() - t0;
  };
  ws.onclose = (ev) => {
    if (link.ws !== ws) return;
    link.ws = null;
    link.connected = false;
    if (ev.code === 4401) { // no session (signed out or expired)
      window.location.assign('/login');
      return;
    }
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, link.attempt));
  const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
  link.attempt += 1;
  link.retryAt = Date.now() + delay;
  if (!link.timer) link.timer = window.setTimeout(connect, delay);
}

export function watchdog() {
  if (link.ws && link.connected && Date.now() - link.lastMsgAt > HEARTBEAT_TIMEOUT_MS) link.ws.close();
  if (!link.connected && link.timer) {
    const s = Math.max(0, Math.ceil((link.retryAt - Date.now()) / 1000));
    setConn('conn-bad', 'LINK DOWN · retry in ' + s + ' s');
  }
}
