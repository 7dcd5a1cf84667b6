// The Leaflet map: land, zones, the track canvas (trackcanvas.js), the selected track's trail.
import { bus } from './state.js';
import { vocab, knownLevel } from './vocab.js';
import { LEVEL_COLOR, BASE_SCALE, drawSymbol, symbolAngle } from './symbols.js';
import { defineTrackLayers } from './trackcanvas.js';
import { fetchJson } from './api.js';
import { $, el, showBanner } from './util.js';

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

export const mapView = { map: null, tracks: null, trail: null, layersControl: null, zoneGroups: {}, landParts: 0 };

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

// The land is one MultiPolygon of some hundred islands and coasts: it is added a polygon at a time, a few
// milliseconds of them per task, so that building and projecting it never holds the page (it was one
// 40-80 ms task at load). It is drawn as SVG, not on a canvas: the browser rasterises SVG off the main
// thread, while a page-sized canvas is copied into the compositor on the main thread at each frame it
// changes (30-70 ms a frame without a GPU, measured in a Chromium trace of the page load).
const LAND_SLICE_MS = 6;

function landParts(doc) {
  const parts = [];
  for (const f of (doc && Array.isArray(doc.features) ? doc.features : [])) {
    const g = f && f.geometry;
    if (g && g.type === 'MultiPolygon' && Array.isArray(g.coordinates)) {
      for (const c of g.coordinates) parts.push({ type: 'Feature', properties: f.properties || {}, geometry: { type: 'Polygon', coordinates: c } });
    } else if (g) {
      parts.push(f);
    }
  }
  return parts;
}

async function loadLand() {
  let parts;
  try {
    parts = landParts(await fetchJson('/static/data/land.geojson'));
  } catch (err) {
    showBanner('Basemap not available (' + err.message + '); tracks are still shown.');
    return;
  }
  const land = L.geoJSON(null, {
    pane: 'land',
    interactive: false,
    renderer: L.svg({ pane: 'land', padding: 0.25 }),
    style: { color: '#4a5a68', weight: 0.8, fillColor: '#27323c', fillOpacity: 1 },
  }).addTo(mapView.map);
  let i = 0;
  const step = () => {
    const t0 = performance.now();
    while (i < parts.length && performance.now() - t0 < LAND_SLICE_MS) land.addData(parts[i++]);
    if (i < parts.length) window.setTimeout(step, 0);
    else mapView.landParts = i;
  };
  step();
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
