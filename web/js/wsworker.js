// The WebSocket, its JSON parsing and the decoding of track frames run in this worker, off the page's
// main thread. Commands from the page: {cmd: 'connect', url} and {cmd: 'close'}.
//
// A columnar `tracks` frame (docs/map.md) is cut into slices of at most SLICE tracks; each slice goes
// to the page as typed arrays that are transferred, not copied, so the page's share of an update of
// 10,000 tracks is a few short tasks. Other messages go to the page as parsed objects.
const SLICE = 1000;
const NUMERIC = ['lat', 'lon', 'sog', 'cog', 'heading', 'alt_ft', 'score'];
let ws = null;

function column(values, from, to) {
  const out = new Float64Array(to - from);
  for (let i = from; i < to; i++) {
    const v = values[i];
    out[i - from] = typeof v === 'number' && Number.isFinite(v) ? v : NaN;
  }
  return out;
}

function times(values, from, to) {
  const out = new Float64Array(to - from);
  for (let i = from; i < to; i++) {
    const v = values[i];
    out[i - from] = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v * 1000 : NaN;
  }
  return out;
}

function levels(values, from, to, names) {
  const out = new Uint8Array(to - from);
  for (let i = from; i < to; i++) {
    const v = typeof values[i] === 'string' ? values[i] : 'info';
    let j = names.indexOf(v);
    if (j < 0) j = names.push(v) - 1;
    out[i - from] = j;
  }
  return out;
}

function wellFormed(msg) {
  if (!Array.isArray(msg.keys)) return false;
  const n = msg.keys.length;
  for (const name of [...NUMERIC, 't', 'level']) if (!Array.isArray(msg[name]) || msg[name].length !== n) return false;
  return msg.detail === undefined || Array.isArray(msg.detail);
}

// One frame to slices: {ev: 'tracks', keys, cols: {lat, ..., ms}, level, levelNames, detail, removed, last}.
function postTracks(msg) {
  if (!wellFormed(msg)) {
    self.postMessage({ ev: 'bad' });
    return;
  }
  const n = msg.keys.length;
  const details = new Map();
  for (const d of msg.detail || []) {
    if (Array.isArray(d) && Number.isInteger(d[0]) && d[1] && typeof d[1] === 'object') details.set(d[0], d[1]);
  }
  const removed = Array.isArray(msg.removed) ? msg.removed.filter((k) => typeof k === 'string') : [];
  for (let from = 0; from < n || from === 0; from += SLICE) {
    const to = Math.min(n, from + SLICE);
    const cols = { ms: times(msg.t, from, to) };
    for (const name of NUMERIC) cols[name] = column(msg[name], from, to);
    const levelNames = [];
    const level = levels(msg.level, from, to, levelNames);
    const detail = [];
    for (let i = from; i < to; i++) if (details.has(i)) detail.push([i - from, details.get(i)]);
    const last = to >= n;
    const slice = { ev: 'tracks', keys: msg.keys.slice(from, to), cols, level, levelNames, detail,
      removed: last ? removed : [], last };
    self.postMessage(slice, [...Object.values(cols).map((c) => c.buffer), level.buffer]);
    if (last) break;
  }
}

self.onmessage = (ev) => {
  const d = ev.data || {};
  if (d.cmd === 'close') {
    if (ws) ws.close();
    return;
  }
  if (d.cmd !== 'connect') return;
  let sock;
  try {
    sock = new WebSocket(d.url);
  } catch {
    self.postMessage({ ev: 'close', code: 1006 });
    return;
  }
  ws = sock;
  sock.onopen = () => self.postMessage({ ev: 'open' });
  sock.onmessage = (m) => {
    let msg;
    try {
      msg = JSON.parse(m.data);
    } catch {
      self.postMessage({ ev: 'bad' });
      return;
    }
    if (msg && msg.type === 'tracks') postTracks(msg);
    else self.postMessage({ ev: 'msg', msg });
  };
  sock.onclose = (c) => {
    if (ws === sock) ws = null;
    self.postMessage({ ev: 'close', code: c.code });
  };
};
