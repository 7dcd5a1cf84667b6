// Place names from Natural Earth (public domain), drawn offline from /static/data/places.geojson (built by
// `python -m tools.placenames`): countries and territories, seas and channels, ports. Each name shows from
// its own zoom up, so the wide view is not crowded. One overlay in the layer control: "Place names".
//
// The names are drawn on one canvas in a pane of their own, under the tracks, redrawn when the view
// settles; while the map pans the canvas moves with it. A DOM marker per name cost the page a style,
// layout and compositing layer per name at load and on every zoom (a 96 ms task at load, see
// docs/performance.md); one canvas costs a few fillText calls.
import { mapView } from './layers.js';
import { fetchJson } from './api.js';
import { num } from './util.js';

const KINDS = ['country', 'marine', 'port'];
const STYLE = {
  country: { font: '11px', color: '#cbd5e1' },
  marine: { font: 'italic 11px', color: '#7dd3fc' },
  port: { font: '11px', color: '#cbd5e1' },
};
const HALO = '#0b1220';
const HALO_OFFSETS = [[-1.5, 0], [1.5, 0], [0, -1.5], [0, 1.5], [-1, -1], [1, -1], [-1, 1], [1, 1]];
const MARGIN = 80; // px around the view where names are still drawn (a name centred just outside shows)

export const places = { layer: null, labels: [], shown: [] }; // labels: [{lat, lon, name, kind, minZoom}]

function fontFamily() {
  return getComputedStyle(document.body).fontFamily || 'sans-serif';
}

function defineLayer() {
  return L.Layer.extend({
    onAdd: function (map) {
      this._map = map;
      if (!map.getPane('places')) {
        const pane = map.createPane('places');
        pane.style.zIndex = '440'; // over zones (overlay pane, 400), under the tracks (450)
        pane.style.pointerEvents = 'none';
      }
      this._canvas = L.DomUtil.create('canvas', 'mda-place-canvas', map.getPane('places'));
      this._canvas.setAttribute('aria-hidden', 'true');
      this._family = fontFamily();
      map.on('moveend zoomend resize viewreset', this.redraw, this);
      map.on('zoomanim', this._hide, this);
      this.redraw();
    },
    onRemove: function (map) {
      map.off('moveend zoomend resize viewreset', this.redraw, this);
      map.off('zoomanim', this._hide, this);
      if (this._frame) L.Util.cancelAnimFrame(this._frame);
      this._frame = 0;
      L.DomUtil.remove(this._canvas);
      this._canvas = null;
      places.shown = [];
    },
    _hide: function () {
      if (this._canvas) this._canvas.classList.add('zooming');
    },
    redraw: function () {
      if (this._map && !this._frame) this._frame = L.Util.requestAnimFrame(this._draw, this);
      return this;
    },
    _draw: function () {
      this._frame = 0;
      const map = this._map;
      const canvas = this._canvas;
      if (!map || !canvas) return;
      const size = map.getSize();
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(size.x * dpr));
      const h = Math.max(1, Math.round(size.y * dpr));
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
        canvas.style.width = size.x + 'px';
        canvas.style.height = size.y + 'px';
      }
      L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
      canvas.classList.remove('zooming');
      const ctx = canvas.getContext('2d');
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, w, h);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      const z = map.getZoom();
      const shown = [];
      let kind = '';
      for (const p of places.labels) {
        if (z < p.minZoom) continue;
        const pt = map.latLngToContainerPoint([p.lat, p.lon]);
        if (pt.x < -MARGIN || pt.y < -MARGIN || pt.x > size.x + MARGIN || pt.y > size.y + MARGIN) continue;
        if (p.kind !== kind) {
          kind = p.kind;
          ctx.font = STYLE[kind].font + ' ' + this._family;
        }
        // the halo is the name filled at eight offsets: filled glyphs come from the rasteriser's glyph
        // cache, where a stroked outline is drawn as a path every time (26 ms a frame at load in software)
        ctx.fillStyle = HALO;
        for (const [dx, dy] of HALO_OFFSETS) ctx.fillText(p.name, pt.x + dx, pt.y + dy);
        ctx.fillStyle = STYLE[kind].color;
        ctx.fillText(p.name, pt.x, pt.y);
        shown.push(p.name);
      }
      places.shown = shown;
      canvas.dataset.shown = String(shown.length);
    },
  });
}

export async function initPlaces() {
  const map = mapView.map;
  let doc;
  try {
    doc = await fetchJson('/static/data/places.geojson');
  } catch {
    return; // no names on this server: the map works without them
  }
  for (const f of (doc && Array.isArray(doc.features) ? doc.features : [])) {
    const p = f.properties || {};
    const c = f.geometry && f.geometry.coordinates;
    if (typeof p.name !== 'string' || !Array.isArray(c) || num(c[0]) === null || num(c[1]) === null) continue;
    const kind = KINDS.includes(p.kind) ? p.kind : 'country';
    places.labels.push({ lat: c[1], lon: c[0], name: p.name, kind, minZoom: num(p.min_zoom) ?? 5 });
  }
  // grouped by kind, so the font changes a few times per frame, not per name
  places.labels.sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind));
  const Layer = defineLayer();
  places.layer = new Layer();
  places.layer.addTo(map);
  mapView.layersControl.addOverlay(places.layer, 'Place names');
  map.attributionControl.addAttribution('Place names: Natural Earth (public domain)');
}

// The names drawn in the last frame (in view, at this zoom); none while the overlay is off.
export function shownPlaces() {
  return places.layer && mapView.map.hasLayer(places.layer) ? places.shown.slice() : [];
}
