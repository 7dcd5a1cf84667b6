// Map aids: cursor latitude/longitude, a graticule, a range-and-bearing tool, and the URL keeping the
// view, the inbox filters, the selected track and the past picture's time (so a view can be shared:
// #z/lat/lon&track=..&level=..&at=2026-01-15T01:00Z&lookback=30).
import { store, bus } from './state.js';
import { mapView } from './layers.js';
import { getFilters, setFilter } from './inbox.js';
import { openTrackPopup } from './popup.js';
import { pastShown, showPastFromLink } from './pastview.js';
import { el, eventMs } from './util.js';

const R_NM = 3440.065; // mean Earth radius in nautical miles

function fmtLat(v) {
  return Math.abs(v).toFixed(4) + '°' + (v >= 0 ? 'N' : 'S');
}

function fmtLon(v) {
  return Math.abs(v).toFixed(4) + '°' + (v >= 0 ? 'E' : 'W');
}

// Great-circle distance (NM) and initial bearing (degrees true) from a to b.
export function rangeBearing(a, b) {
  const rad = Math.PI / 180;
  const p1 = a.lat * rad;
  const p2 = b.lat * rad;
  const dl = (b.lng - a.lng) * rad;
  const h = Math.sin((p2 - p1) / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) ** 2;
  const d = 2 * R_NM * Math.asin(Math.min(1, Math.sqrt(h)));
  const y = Math.sin(dl) * Math.cos(p2);
  const x = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
  return { nm: d, deg: ((Math.atan2(y, x) / rad) + 360) % 360 };
}

function cursorControl(map) {
  const Ctl = L.Control.extend({
    onAdd: () => {
      const box = el('div', 'leaflet-control map-cursor', '—');
      box.id = 'cursor-pos';
      box.setAttribute('aria-live', 'off');
      return box;
    },
  });
  new Ctl({ position: 'bottomright' }).addTo(map);
  map.on('mousemove', (e) => {
    document.getElementById('cursor-pos').textContent = fmtLat(e.latlng.lat) + ' ' + fmtLon(e.latlng.lng);
  });
}

function graticule(map) {
  const layer = L.layerGroup();
  const draw = () => {
    layer.clearLayers();
    const z = map.getZoom();
    const step = z >= 9 ? 0.5 : z >= 7 ? 1 : z >= 5 ? 5 : 10;
    const b = map.getBounds();
    const style = { color: '#5b7388', weight: 0.6, opacity: 0.6, interactive: false };
    for (let lat = Math.ceil(b.getSouth() / step) * step; lat <= b.getNorth(); lat += step) {
      layer.addLayer(L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style));
    }
    for (let lon = Math.ceil(b.getWest() / step) * step; lon <= b.getEast(); lon += step) {
      layer.addLayer(L.polyline([[b.getSouth(), lon], [b.getNorth(), lon]], style));
    }
  };
  map.on('moveend zoomend', () => { if (map.hasLayer(layer)) draw(); });
  layer.on('add', draw);
  layer.addTo(map);
  mapView.layersControl.addOverlay(layer, 'Graticule');
}

// Range and bearing: switch the tool on, click two points; the line and the figures stay until the next use.
function rangeTool(map) {
  const line = L.polyline([], { color: '#ffd166', weight: 2, interactive: false }).addTo(map);
  let first = null;
  let on = false;
  const Ctl = L.Control.extend({
    onAdd: () => {
      const box = el('div', 'leaflet-control leaflet-bar map-range');
      const b = el('button', 'range-btn', 'Range & bearing');
      b.type = 'button';
      b.setAttribute('aria-pressed', 'false');
      const out = el('div', 'range-out');
      out.id = 'range-out';
      out.setAttribute('role', 'status');
      b.addEventListener('click', (ev) => {
        ev.stopPropagation();
        on = !on;
        first = null;
        b.setAttribute('aria-pressed', String(on));
        out.textContent = on ? 'click the first point' : '';
        map.getContainer().classList.toggle('measuring', on);
      });
      L.DomEvent.disableClickPropagation(box);
      box.append(b, out);
      return box;
    },
  });
  new Ctl({ position: 'topleft' }).addTo(map);
  map.on('click', (e) => {
    if (!on) return;
    const out = document.getElementById('range-out');
    if (!first) {
      first = e.latlng;
      line.setLatLngs([first]);
      out.textContent = 'click the second point';
      return;
    }
    const rb = rangeBearing(first, e.latlng);
    line.setLatLngs([first, e.latlng]);
    out.textContent = rb.nm.toFixed(1) + ' NM · ' + rb.deg.toFixed(0).padStart(3, '0') + '°T';
    first = null;
  });
}

const FILTERS = ['level', 'category', 'state', 'status'];

function writeUrl() {
  const map = mapView.map;
  const c = map.getCenter();
  const q = new URLSearchParams();
  if (store.selected) q.set('track', store.selected);
  const f = getFilters();
  for (const k of FILTERS) if (f[k]) q.set(k, f[k]);
  const pic = pastShown();
  if (pic) {
    const iso = new Date(pic.atMs).toISOString(); // to the minute when the picture is on a minute
    q.set('at', iso.endsWith(':00.000Z') ? iso.slice(0, 16) + 'Z' : iso.replace('.000Z', 'Z'));
    q.set('lookback', String(pic.lookbackMin));
  }
  const hash = '#' + map.getZoom() + '/' + c.lat.toFixed(4) + '/' + c.lng.toFixed(4) + (q.toString() ? '&' + String(q).replace(/%3A/gi, ':') : ''); // ':' is fine in a fragment
  if (hash !== location.hash) history.replaceState(null, '', hash);
}

// The URL is written a moment after what changed it, once for a burst of changes: replaceState
// serialises and commits a navigation entry (7 ms in the frame of the inbox's first render at load).
const URL_DELAY_MS = 150;
let urlTimer = 0;

function scheduleUrl() {
  if (urlTimer) return;
  urlTimer = window.setTimeout(() => {
    urlTimer = 0;
    writeUrl();
  }, URL_DELAY_MS);
}

function readUrl() {
  const m = /^#([\d.]+)\/(-?[\d.]+)\/(-?[\d.]+)(?:&(.*))?$/.exec(location.hash);
  if (!m) return null;
  const z = Number(m[1]);
  const lat = Number(m[2]);
  const lon = Number(m[3]);
  if ([z, lat, lon].every(Number.isFinite) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    mapView.map.setView([lat, lon], z, { animate: false });
  }
  return new URLSearchParams(m[4] || '');
}

export function initAids() {
  const map = mapView.map;
  cursorControl(map);
  graticule(map);
  rangeTool(map);
  const q = readUrl();
  if (q) {
    for (const k of FILTERS) if (q.get(k)) setFilter(k, q.get(k));
    if (q.get('at')) showPastFromLink(eventMs(q.get('at')), Number(q.get('lookback')));
    const key = q.get('track');
    if (key) {
      // open the shared track once the first snapshot has it
      let done = false;
      bus.on('tracks', () => {
        if (done || !store.tracks.has(key)) return;
        done = true;
        openTrackPopup(key);
      });
    }
  }
  map.on('moveend', scheduleUrl);
  bus.on('select', scheduleUrl);
  bus.on('alerts-rendered', scheduleUrl);
  bus.on('history', scheduleUrl);
}
