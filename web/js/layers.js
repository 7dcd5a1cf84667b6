// The Leaflet map: land, zones, one canvas for every track, the selected track's trail.
import { store, bus } from './state.js';
import { vocab, levelRank, knownLevel } from './vocab.js';
import { LEVEL_COLOR, AGED_COLOR, BASE_SCALE, drawSymbol, symbolAngle } from './symbols.js';
import { FADE_S, isAged } from './ageout.js';
import { fetchJson } from './api.js';
import { $, el, num, showBanner } from './util.js';

const ZONE_STYLE = {
  territorial_sea: { label: 'Territorial seas', color: '#5ec8ff', weight: 1.6, dashArray: '7 5', fillOpacity: 0.04 },
  contiguous_zone: { label: 'Contiguous zones', color: '#5ec8ff', weight: 1, dashArray: '2 5', fillOpacity: 0 },
  eez: { label: 'EEZ', color: '#8fa8ff', weight: 1, opacity: 0.75, fillOpacity: 0 },
  watch_area: { label: 'Watch areas', color: '#c9a0ff', weight: 1, opacity: 0.8, fillOpacity: 0.025 },
  transit_gate: { label: 'Transit gates', color: '#ff5fd2', weight: 4, opacity: 0.95, fillOpacity: 0.15 },
  port_approach: { label: 'Port approaches', color: '#7ee0c3', weight: 1.5, dashArray: '8 3 2 3', fillOpacity: 0.04, hidden: true },
  airport: { label: 'Airports', color: '#ffd166', weight: 1.2, dashArray: '3 3', fillOpacity: 0.04, hidden: true },
  restricted: { label: 'Restricted areas', color: '#ff6b6b', weight: 2, fillOpacity: 0.06 },
  protected: { label: 'Protected areas', color: '#6bd66b', weight: 1.5, fillOpacity: 0.05 },
  custom: { label: 'Other zones', color: '#cfd8e0', weight: 1.2, fillOpacity: 0.03 },
};
export const CARIBBEAN = [[5, -90], [30, -55]];
const LABEL_ZOOM = 9;

export const mapView = { map: null, tracks: null, trail: null, layersControl: null, zoneGroups: {} };

// One canvas for every track, redrawn in one animation frame when the view or the data change;
// only tracks inside the view are drawn.
function defineTrackLayers() {
  const Renderer = L.Layer.extend({
    initialize: function () {
      this.visible = new Set();
      this._hits = [];
      this._drawn = 0;
      this._frame = 0;
      this.lastDrawMs = 0;
    },
    onAdd: function (map) {
      this._map = map;
      this._canvas = L.DomUtil.create('canvas', 'mda-track-canvas', map.getPane('tracks'));
      map.on('move zoom resize viewreset zoomend', this.redraw, this);
      map.on('zoomanim', this._hide, this);
      this.redraw();
    },
    onRemove: function (map) {
      map.off('move zoom resize viewreset zoomend', this.redraw, this);
      map.off('zoomanim', this._hide, this);
      if (this._frame) L.Util.cancelAnimFrame(this._frame);
      this._frame = 0;
      L.DomUtil.remove(this._canvas);
      this._canvas = null;
    },
    setKinds: function (kinds, on) {
      for (const k of kinds) {
        if (on) this.visible.add(k);
        else this.visible.delete(k);
      }
      return this.redraw();
    },
    _hide: function () {
      if (this._canvas) this._canvas.classList.add('zooming');
    },
    redraw: function () {
      if (this._map && !this._frame) this._frame = L.Util.requestAnimFrame(this._draw, this);
      return this;
    },
    drawnCount: function () {
      return this._drawn;
    },
    hit: function (pt, radius) {
      let best = null;
      let bestD = radius * radius;
      const h = this._hits;
      for (let i = h.length - 3; i >= 0; i -= 3) {
        const dx = h[i + 1] - pt.x;
        const dy = h[i + 2] - pt.y;
        const d = dx * dx + dy * dy;
        if (d < bestD) {
          bestD = d;
          best = h[i];
        }
      }
      return best;
    },
    _project: function (size) {
      const map = this._map;
      const buckets = [[]]; // 0: aged-out tracks, then one per level
      for (let i = 0; i < vocab.levels.length; i++) buckets.push([]);
      const m = 24;
      const last = store.lastDataMs;
      for (const tr of store.tracks.values()) {
        if (!this.visible.has(tr.kind)) continue;
        const lat = num(tr.lat);
        const lon = num(tr.lon);
        if (lat === null || lon === null) continue;
        const p = map.latLngToContainerPoint([lat, lon]);
        if (p.x < -m || p.y < -m || p.x > size.x + m || p.y > size.y + m) continue;
        buckets[isAged(tr, last) ? 0 : 1 + levelRank(tr.level)].push(tr, p.x, p.y);
      }
      return buckets;
    },
    _draw: function () {
      this._frame = 0;
      const map = this._map;
      const canvas = this._canvas;
      if (!map || !canvas) return;
      const t0 = performance.now();
      canvas.classList.remove('zooming');
      const size = map.getSize();
      const dpr = window.devicePixelRatio || 1;
      const w = Math.round(size.x * dpr);
      const h = Math.round(size.y * dpr);
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
        canvas.style.width = size.x + 'px';
        canvas.style.height = size.y + 'px';
      }
      L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
      const ctx = canvas.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, size.x, size.y);
      const buckets = this._project(size);
      const fadeBefore = store.lastDataMs - FADE_S * 1000;
      const top = vocab.levels.length; // bucket of the highest level
      const hits = [];
      ctx.lineWidth = 1.3;
      for (let b = 0; b < buckets.length; b++) {
        const list = buckets[b];
        const aged = b === 0;
        const scale = BASE_SCALE * (!aged && b >= top - 1 ? 1.25 : 1);
        const color = aged ? AGED_COLOR : LEVEL_COLOR[vocab.levels[b - 1]] || LEVEL_COLOR.info;
        for (let i = 0; i < list.length; i += 3) {
          const tr = list[i];
          const x = list[i + 1];
          const y = list[i + 2];
          ctx.globalAlpha = aged ? 0.5 : tr._ms < fadeBefore ? 0.45 : 1;
          if (!aged && b === top) { // the highest level: a halo under the symbol
            ctx.fillStyle = 'rgba(255, 59, 79, 0.3)';
            ctx.beginPath();
            ctx.arc(x, y, 15, 0, 2 * Math.PI);
            ctx.fill();
          }
          ctx.fillStyle = color;
          ctx.strokeStyle = '#081018';
          drawSymbol(ctx, tr.kind, symbolAngle(tr), x, y, scale);
          hits.push(tr.key, x, y);
        }
      }
      ctx.globalAlpha = 1;
      if (map.getZoom() >= LABEL_ZOOM) this._labels(ctx, buckets);
      this._ring(ctx);
      this._hits = hits;
      this._drawn = hits.length / 3;
      this.lastDrawMs = performance.now() - t0;
      $('map').dataset.drawnCount = String(this._drawn);
    },
    _labels: function (ctx, buckets) {
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillStyle = '#dce6ef';
      let n = 0;
      for (let b = buckets.length - 1; b >= 0 && n < 500; b--) {
        const list = buckets[b];
        for (let i = 0; i < list.length && n < 500; i += 3) {
          if (!list[i].name) continue;
          ctx.fillText(String(list[i].name), list[i + 1] + 11, list[i + 2] + 4);
          n++;
        }
      }
    },
    _ring: function (ctx) {
      const sel = store.selected ? store.tracks.get(store.selected) : null;
      if (!sel || !this.visible.has(sel.kind) || num(sel.lat) === null || num(sel.lon) === null) return;
      const p = this._map.latLngToContainerPoint([sel.lat, sel.lon]);
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(p.x, p.y, 16, 0, 2 * Math.PI);
      ctx.stroke();
    },
  });
  const KindToggle = L.Layer.extend({
    initialize: function (renderer, kinds) {
      this._renderer = renderer;
      this._kinds = kinds;
    },
    onAdd: function () {
      this._renderer.setKinds(this._kinds, true);
    },
    onRemove: function () {
      this._renderer.setKinds(this._kinds, false);
    },
  });
  return { Renderer, KindToggle };
}

export function redrawTracks() {
  if (mapView.tracks) mapView.tracks.redraw();
}

export function initMap() {
  const map = L.map('map', {
    zoomControl: true, attributionControl: true, minZoom: 3, maxZoom: 15, worldCopyJump: false, zoomSnap: 0.5,
  });
  mapView.map = map;
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution('Land: Natural Earth (public domain)');
  map.createPane('land').style.zIndex = '250';
  map.createPane('tracks').style.zIndex = '450';
  map.getPane('tracks').style.pointerEvents = 'none';
  map.fitBounds(CARIBBEAN);
  L.control.scale({ metric: true, imperial: false, position: 'bottomleft' }).addTo(map);
  const T = defineTrackLayers();
  mapView.tracks = new T.Renderer().addTo(map);
  const air = vocab.kinds.filter((k) => k.includes('aircraft'));
  const fixed = vocab.kinds.filter((k) => k !== 'vessel' && !air.includes(k));
  const overlays = {
    Vessels: new T.KindToggle(mapView.tracks, ['vessel']),
    Aircraft: new T.KindToggle(mapView.tracks, air),
    'Base stations & AtoN': new T.KindToggle(mapView.tracks, fixed),
  };
  for (const name of Object.keys(overlays)) overlays[name].addTo(map);
  mapView.layersControl = L.control.layers(null, overlays, { collapsed: false, position: 'topright' }).addTo(map);
  mapView.trail = L.polyline([], { color: '#ffffff', weight: 2, opacity: 0.8, dashArray: '4 4', interactive: false })
    .addTo(map);
  buildLegend();
  loadLand();
  loadZones(0);
  bus.on('tracks', redrawTracks);
  bus.on('select', redrawTracks);
  return map;
}

export function setTrail(latlngs) {
  if (mapView.trail) mapView.trail.setLatLngs(latlngs);
}

function buildLegend() {
  const box = $('legend');
  const levels = el('div', 'legend-line');
  for (const lv of vocab.levels) {
    const item = el('span', 'legend-item');
    item.appendChild(el('span', 'swatch lvl-bg-' + knownLevel(lv)));
    item.appendChild(el('span', null, lv));
    levels.appendChild(item);
  }
  const aged = el('span', 'legend-item');
  aged.appendChild(el('span', 'swatch swatch-aged'));
  aged.appendChild(el('span', null, 'silent (aged out)'));
  aged.title = 'no report for 10 min (aircraft) or 1 h (vessels, stations): drawn grey whatever its level';
  levels.appendChild(aged);
  const symbols = el('div', 'legend-line');
  const samples = [
    { kind: 'vessel', cog: 45, sog: 10, label: 'vessel' },
    { kind: 'vessel', label: 'no course' },
    { kind: 'aircraft', cog: 45, label: 'aircraft' },
    { kind: 'sar_aircraft', cog: 45, label: 'SAR' },
    { kind: 'base_station', label: 'base stn' },
    { kind: 'aid_to_navigation', label: 'AtoN' },
  ];
  const dpr = window.devicePixelRatio || 1;
  for (const s of samples) {
    const item = el('span', 'legend-item');
    const c = el('canvas', 'legend-symbol');
    c.width = Math.round(26 * dpr);
    c.height = Math.round(26 * dpr);
    c.setAttribute('aria-hidden', 'true');
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = LEVEL_COLOR.info;
    ctx.strokeStyle = '#081018';
    ctx.lineWidth = 1.3;
    drawSymbol(ctx, s.kind, symbolAngle(s), 13, 13, s.kind === 'sar_aircraft' ? 0.8 : BASE_SCALE);
    item.appendChild(c);
    item.appendChild(el('span', null, s.label));
    symbols.appendChild(item);
  }
  box.replaceChildren(levels, symbols);
}

async function loadLand() {
  try {
    const land = await fetchJson('/static/data/land.geojson');
    L.geoJSON(land, {
      pane: 'land',
      interactive: false,
      renderer: L.canvas({ pane: 'land', padding: 0.5 }),
      style: { color: '#4a5a68', weight: 0.8, fillColor: '#27323c', fillOpacity: 1 },
    }).addTo(mapView.map);
  } catch (err) {
    showBanner('Basemap not available (' + err.message + '); tracks are still shown.');
  }
}

export const zoneClick = { pending: null };

async function loadZones(attempt) {
  const map = mapView.map;
  let fc;
  try {
    fc = await fetchJson('/api/zones');
  } catch {
    window.setTimeout(() => loadZones(attempt + 1), Math.min(60000, 2000 * Math.pow(2, attempt)));
    return;
  }
  const groups = mapView.zoneGroups;
  for (const kind of Object.keys(groups)) {
    mapView.layersControl.removeLayer(groups[kind]);
    map.removeLayer(groups[kind]);
    delete groups[kind];
  }
  const byKind = {};
  for (const f of (fc && Array.isArray(fc.features) ? fc.features : [])) {
    const kind = f && f.properties && ZONE_STYLE[f.properties.kind] ? f.properties.kind : 'custom';
    (byKind[kind] = byKind[kind] || []).push(f);
  }
  for (const kind of Object.keys(ZONE_STYLE)) {
    if (!byKind[kind]) continue;
    const st = ZONE_STYLE[kind];
    const group = L.geoJSON({ type: 'FeatureCollection', features: byKind[kind] }, {
      style: () => ({ color: st.color, weight: st.weight, opacity: st.opacity ?? 0.9, dashArray: st.dashArray || null,
        fillColor: st.color, fillOpacity: st.fillOpacity ?? 0.04 }),
      onEachFeature: (feature, layer) => {
        layer.on('click', () => { zoneClick.pending = { feature, layer }; });
      },
    });
    if (!st.hidden) group.addTo(map);
    groups[kind] = group;
    mapView.layersControl.addOverlay(group, st.label + ' (' + byKind[kind].length + ')');
  }
}

export function zoneLabel(kind) {
  return (ZONE_STYLE[kind] || ZONE_STYLE.custom).label;
}
