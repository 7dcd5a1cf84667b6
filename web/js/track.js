// The track detail panel: identity and voyage data, aircraft data, the track's alerts as a timeline
// with the same actions as the inbox, and a trail of the last hours on the map.
import { store, bus } from './state.js';
import { knownLevel, kindName, trackKey, shipTypeText } from './vocab.js';
import { isAir } from './symbols.js';
import { setTrail } from './layers.js';
import { fetchJson } from './api.js';
import { actionBar, historyList } from './actions.js';
import { ageSeconds, isAged } from './ageout.js';
import { editing, $, el, num, row, fmtNum, fmtTime, fmtAge, words, eventMs } from './util.js';

export const TRAIL_HOURS = 6;
const SEEN_MAX = 720; // positions kept per track for the page's own trail
const SEEN_STEP_MS = 30000; // at most one kept position per 30 s of event time (720 of them: 6 h)

// Positions this page has received, for a trail when the server has no history.
export function notePosition(tr) {
  if (num(tr.lat) === null || num(tr.lon) === null || !Number.isFinite(tr._ms)) return;
  let list = store.seen.get(tr.key);
  if (!list) {
    list = [];
    store.seen.set(tr.key, list);
  }
  const last = list[list.length - 1];
  if (last && tr._ms - last[0] < SEEN_STEP_MS) return;
  list.push([tr._ms, tr.lat, tr.lon]);
  if (list.length > SEEN_MAX) list.splice(0, list.length - SEEN_MAX);
}

const trail = { key: null, points: [], source: '', unavailable: false };

async function loadTrail(tr) {
  const key = tr.key;
  const to = Number.isFinite(store.lastDataMs) ? store.lastDataMs : Date.now();
  const from = to - TRAIL_HOURS * 3600 * 1000;
  trail.key = key;
  trail.points = [];
  trail.source = 'positions received by this page';
  if (trail.unavailable) {
    drawTrail();
    return;
  }
  try {
    const q = '?from=' + encodeURIComponent(new Date(from).toISOString()) + '&to=' + encodeURIComponent(new Date(to).toISOString());
    const fc = await fetchJson('/api/tracks/' + encodeURIComponent(tr.kind) + '/' + encodeURIComponent(tr.id) + '/history' + q);
    if (trail.key !== key) return;
    const pts = [];
    for (const f of (fc && Array.isArray(fc.features) ? fc.features : [])) {
      const c = f && f.geometry && f.geometry.coordinates;
      if (Array.isArray(c) && num(c[0]) !== null && num(c[1]) !== null) pts.push([c[1], c[0]]);
    }
    trail.points = pts;
    trail.source = 'server history';
  } catch {
    trail.unavailable = true; // no history on this server: the page's own positions from now on
  }
  drawTrail();
}

function drawTrail() {
  const tr = store.selected ? store.tracks.get(store.selected) : null;
  if (!tr) {
    setTrail([]);
    return;
  }
  let pts = trail.key === tr.key && trail.source === 'server history' ? trail.points.slice() : [];
  if (!pts.length) {
    const since = (Number.isFinite(store.lastDataMs) ? store.lastDataMs : Date.now()) - TRAIL_HOURS * 3600 * 1000;
    pts = (store.seen.get(tr.key) || []).filter((p) => p[0] >= since).map((p) => [p[1], p[2]]);
  }
  pts.push([tr.lat, tr.lon]);
  setTrail(pts);
  const src = $('track-trail-source');
  if (src) src.textContent = 'Trail: last ' + TRAIL_HOURS + ' h, ' + pts.length + ' points (' + trail.source + ')';
}

function trackAlerts(tr) {
  const out = [];
  for (const a of store.alerts.values()) {
    const t = a.track || {};
    if (trackKey(t.kind, t.id) === tr.key) out.push(a);
  }
  return out.sort((a, b) => (a._ms || 0) - (b._ms || 0));
}

function timeline(tr) {
  const ol = el('ol', 'timeline');
  ol.setAttribute('aria-label', 'Alerts of this track');
  for (const a of trackAlerts(tr)) {
    const li = el('li', 'tl-item lvl-' + knownLevel(a.level));
    li.dataset.alertId = String(a.id);
    const head = el('div', 'tl-head');
    head.appendChild(el('span', 'alert-time', fmtTime(a._ms, true)));
    head.appendChild(el('span', 'badge lvl-bg-' + knownLevel(a.level), a.level));
    head.appendChild(el('span', 'alert-cat', words(a.category)));
    head.appendChild(el('span', 'muted', a.status));
    li.appendChild(head);
    if (a.zone && a.zone.name) li.appendChild(el('div', 'alert-zone', a.zone.name));
    li.appendChild(historyList(a));
    li.appendChild(actionBar(a, (doc) => {
      if (doc && doc.id) store.alerts.set(String(doc.id), Object.assign(doc, { _ms: eventMs(doc.time) }));
      bus.emit('alerts');
    }));
    ol.appendChild(li);
  }
  if (!ol.children.length) ol.appendChild(el('li', 'muted', 'No alerts for this track.'));
  return ol;
}

function render() {
  if (editing($('track-panel'))) {
    window.setTimeout(schedule, 400);
    return;
  }
  const box = $('track-panel');
  const tr = store.selected ? store.tracks.get(store.selected) : null;
  if (!tr) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const air = isAir(tr.kind);
  const head = el('div', 'tp-head');
  head.appendChild(el('h2', 'tp-name', tr.name || '(no name)'));
  head.appendChild(el('span', 'badge lvl-bg-' + knownLevel(tr.level), (tr.level || '') + ' ' + (num(tr.score) ?? 0)));
  const close = el('button', 'tp-close', 'Close');
  close.type = 'button';
  close.addEventListener('click', () => {
    store.selected = null;
    bus.emit('select', null);
  });
  head.appendChild(close);
  const dl = el('dl', 'popup-grid');
  row(dl, 'Kind', kindName(tr.kind));
  row(dl, air ? 'ICAO address' : 'MMSI', tr.id);
  row(dl, air ? 'Flag (ICAO address block)' : 'Flag (MID)', tr.flag || '—');
  if (air) {
    row(dl, 'Call sign', tr.callsign || tr.name || '—');
    row(dl, 'Squawk', tr.squawk || '—');
    row(dl, 'Altitude', fmtNum(tr.alt_ft, 0, ' ft'));
    row(dl, 'Vertical rate', fmtNum(tr.vrate_fpm, 0, ' ft/min'));
    row(dl, 'On ground', tr.on_ground === true ? 'yes' : tr.on_ground === false ? 'no' : '—');
  } else {
    row(dl, 'Call sign', tr.callsign || '—');
    row(dl, 'IMO', tr.imo || '—');
    row(dl, 'Type', shipTypeText(tr.ship_type) || '—');
    row(dl, 'Size', num(tr.length_m) !== null ? fmtNum(tr.length_m, 0, ' m') + ' × ' + fmtNum(tr.beam_m, 0, ' m') : '—');
    row(dl, 'Destination', tr.destination || '—');
    row(dl, 'ETA', tr.eta || '—');
    row(dl, 'Draught', fmtNum(tr.draught_m, 1, ' m'));
    // the server's last port of call: the latest port arrival of the track's timeline
    row(dl, 'Last port', tr.last_port
      ? tr.last_port + (tr.last_port_t ? ' (arrived ' + fmtTime(eventMs(tr.last_port_t), true) + ')' : '') : '—');
  }
  row(dl, 'Speed', fmtNum(tr.sog, 1, ' kn'));
  row(dl, 'Course', fmtNum(tr.cog, 0, '°'));
  row(dl, 'Position', fmtNum(tr.lat, 4, '') + ', ' + fmtNum(tr.lon, 4, ''));
  const age = ageSeconds(tr, store.lastDataMs);
  row(dl, 'Last report', fmtTime(tr._ms, true) + ' (' + fmtAge(age) + ' before last data' + (isAged(tr, store.lastDataMs) ? ', aged out' : '') + ')');
  const src = el('div', 'muted tp-trail');
  src.id = 'track-trail-source';
  box.replaceChildren(head, dl, src, el('h3', 'popup-sub', 'Alerts'), timeline(tr));
  drawTrail();
}

let dirty = false;
function schedule() {
  if (dirty) return;
  dirty = true;
  window.requestAnimationFrame(() => {
    dirty = false;
    render();
  });
}

export function initTrackPanel() {
  bus.on('select', (key) => {
    const tr = key ? store.tracks.get(key) : null;
    if (tr) loadTrail(tr);
    else setTrail([]);
    schedule();
  });
  bus.on('tracks', () => { if (store.selected) schedule(); });
  bus.on('alerts', () => { if (store.selected) schedule(); });
}
