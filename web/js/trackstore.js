// Applies the track slices the socket worker decodes (wsworker.js) to the one state: each slice is a
// few hundred tracks as typed columns, applied in place, so no task of the page's handles a whole
// update of 10,000 tracks. The fields that move every update are columns (docs/map.md); the others
// (name, kind, identity, voyage, reasons, ...) come in `detail` only when they changed.
import { store, noteDataTime } from './state.js';
import { notePosition } from './track.js';

function finite(v) {
  return Number.isFinite(v) ? v : null;
}

// A slice from the worker: {keys, cols: {lat, lon, sog, cog, heading, alt_ft, score, ms}, level,
// levelNames, detail: [[i, fields], ...], removed}.
export function applySlice(s) {
  const keys = Array.isArray(s.keys) ? s.keys : [];
  const c = s.cols || {};
  const names = Array.isArray(s.levelNames) ? s.levelNames : [];
  const fresh = new Map();
  for (const d of Array.isArray(s.detail) ? s.detail : []) fresh.set(d[0], d[1]);
  let newest = NaN;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key !== 'string') {
      store.badMessages += 1;
      continue;
    }
    let tr = store.tracks.get(key);
    const detail = fresh.get(i);
    if (detail) { // the whole set of other fields: a field it no longer has is gone
      tr = { ...detail, key };
      store.tracks.set(key, tr);
    } else if (!tr) {
      tr = { key };
      store.tracks.set(key, tr);
    }
    tr.lat = finite(c.lat[i]);
    tr.lon = finite(c.lon[i]);
    tr.sog = finite(c.sog[i]);
    tr.cog = finite(c.cog[i]);
    tr.heading = finite(c.heading[i]);
    tr.alt_ft = finite(c.alt_ft[i]);
    tr.score = finite(c.score[i]);
    tr.level = names[s.level[i]] || 'info';
    const ms = c.ms[i];
    tr._ms = ms;
    if (!(ms <= newest)) newest = ms;
    notePosition(tr);
  }
  noteDataTime(newest);
  for (const key of Array.isArray(s.removed) ? s.removed : []) {
    store.tracks.delete(key);
    store.seen.delete(key);
  }
}
