// Place names from Natural Earth (public domain), drawn offline from /static/data/places.geojson (built by
// `python -m tools.placenames`): countries and territories, seas and channels, ports. Each name shows from
// its own zoom up, so the wide view is not crowded. One overlay in the layer control: "Place names".
import { mapView } from './layers.js';
import { fetchJson } from './api.js';
import { el, num } from './util.js';

export const places = { layer: null, labels: [] }; // labels: [{marker, minZoom}]

function label(name, kind) {
  const div = el('div', 'place-label place-' + kind, name); // text only, never HTML
  return L.divIcon({ className: 'place-icon', html: div, iconSize: null });
}

function showForZoom() {
  const map = mapView.map;
  if (!map || !places.layer || !map.hasLayer(places.layer)) return;
  const z = map.getZoom();
  for (const p of places.labels) {
    const on = z >= p.minZoom;
    if (on && !places.layer.hasLayer(p.marker)) places.layer.addLayer(p.marker);
    else if (!on && places.layer.hasLayer(p.marker)) places.layer.removeLayer(p.marker);
  }
}

export async function initPlaces() {
  const map = mapView.map;
  let doc;
  try {
    doc = await fetchJson('/static/data/places.geojson');
  } catch {
    return; // no names on this server: the map works without them
  }
  places.layer = L.layerGroup();
  for (const f of (doc && Array.isArray(doc.features) ? doc.features : [])) {
    const p = f.properties || {};
    const c = f.geometry && f.geometry.coordinates;
    if (typeof p.name !== 'string' || !Array.isArray(c) || num(c[0]) === null || num(c[1]) === null) continue;
    const marker = L.marker([c[1], c[0]], {
      icon: label(p.name, ['country', 'marine', 'port'].includes(p.kind) ? p.kind : 'country'),
      interactive: false, keyboard: false, pane: 'overlayPane',
    });
    places.labels.push({ marker, minZoom: num(p.min_zoom) ?? 5, name: p.name });
  }
  places.layer.addTo(map);
  mapView.layersControl.addOverlay(places.layer, 'Place names');
  map.attributionControl.addAttribution('Place names: Natural Earth (public domain)');
  map.on('zoomend', showForZoom);
  map.on('overlayadd', (e) => { if (e.layer === places.layer) showForZoom(); });
  showForZoom();
}

export function shownPlaces() {
  return places.layer ? places.labels.filter((p) => places.layer.hasLayer(p.marker)).map((p) => p.name) : [];
}
