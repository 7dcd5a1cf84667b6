// Place names from Natural Earth (public domain), drawn offline from /static/data/places.geojson (built by
// `python -m tools.placenames`): countries and territories, seas and channels, ports. Each name shows from
// its own zoom up, so the wide view is not crowded. One overlay in the layer control: "Place names".
//
// The names are drawn on one canvas in a pane of their own, under the tracks, redrawn when the view
// settles (on a back buffer shown in one step, canvasframe.js); while the map pans the canvas moves with it. A DOM marker per name cost the page a style,
// layout and compositing layer per name at load and on every zoom (a 96 ms task at load, see
// docs/performance.md). Each name with its halo is a sprite drawn once, in a worker
// (placesworker.js), so a frame of names is some drawImage calls; the text itself (nine fills a name,
// and the first use of each font: up to 47 ms at load on the main thread) is rasterised off it. A
// name shows once its sprite has come; a browser without workers' canvases draws the sprites itself.
import { mapView } from './layers.js';
import { fetchJson } from './api.js';
import { num } from './util.js';
import { KINDS, drawSprite } from './placestyle.js';
import { backBuffer, showFrame } from './canvasframe.js';

const MARGIN = 80; // px around the view where names are still drawn (a name centred just outside shows)

export const places = { layer: null, labels: [], shown: [] }; // labels: [{lat, lon, name, kind, minZoom}]

// Sprites by kind and name ({img, w, h}, w and h in CSS px), made at `dpr`.
const sprites = { map: new Map(), dpr: 0, worker: null };

function spriteKey(kind, name) {
  return kind + '\u0000' + name;
}

function spritesOnPage(family, dpr) {
  const page = (w, h) => {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    return c;
  };
  for (const p of places.labels) {
    const s = drawSprite(p.name, p.kind, family, dpr, page);
    sprites.map.set(spriteKey(p.kind, p.name), { img: s.canvas, w: s.w, h: s.h });
  }
}

// Asks for the sprites of every name at `dpr`; `done` runs each time some have come.
function askSprites(family, dpr, done) {
  sprites.map.clear();
  sprites.dpr = dpr;
  const labels = places.labels.map((p) => ({ name: p.name, kind: p.kind }));
  const fallback = () => {
    if (sprites.worker) sprites.worker.terminate();
    sprites.worker = null;
    spritesOnPage(family, dpr);
    done();
  };
  if (typeof OffscreenCanvas !== 'function' || typeof Worker !== 'function') {
    fallback();
    return;
  }
  try {
    if (!sprites.worker) sprites.worker = new Worker('/static/js/placesworker.js', { type: 'module' });
  } catch {
    fallback();
    return;
  }
  sprites.worker.onerror = fallback;
  sprites.worker.onmessage = (e) => {
    const d = e.data || {};
    if (d.dpr !== sprites.dpr || !Array.isArray(d.sprites)) return; // an answer for another screen
    for (const s of d.sprites) sprites.map.set(spriteKey(s.kind, s.name), { img: s.img, w: s.w, h: s.h });
    done();
  };
  sprites.worker.postMessage({ cmd: 'sprites', family, dpr, labels });
}

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
      if (!this._back || this._back.width !== w || this._back.height !== h) this._back = backBuffer(w, h);
      const ctx = this._back.getContext('2d');
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, w, h);
      if (sprites.dpr !== dpr) askSprites(this._family, dpr, () => this.redraw());
      const z = map.getZoom();
      const shown = [];
      for (const p of places.labels) {
        if (z < p.minZoom) continue;
        const pt = map.latLngToContainerPoint([p.lat, p.lon]);
        if (pt.x < -MARGIN || pt.y < -MARGIN || pt.x > size.x + MARGIN || pt.y > size.y + MARGIN) continue;
        const sp = sprites.map.get(spriteKey(p.kind, p.name));
        if (!sp) continue; // its sprite is still being drawn: it shows in the redraw when it comes
        ctx.drawImage(sp.img, Math.round((pt.x - sp.w / 2) * dpr), Math.round((pt.y - sp.h / 2) * dpr));
        shown.push(p.name);
      }
      L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
      canvas.classList.remove('zooming');
      showFrame(canvas, this._back);
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
