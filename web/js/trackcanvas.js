// One canvas for every track. A redraw is one job: the tracks in view are projected in one pass, their
// sprites (sprites.js) are copied to a back buffer in slices of at most SLICE_MS with a yield between
// slices, and the finished frame is handed to the visible canvas in one step (canvasframe.js), so no
// task of a redraw of 10,000 tracks holds the page for long and the screen never shows half a frame. The canvas sits
// in a map pane: while a job runs the last frame pans with the map, positioned where it was drawn.
import { store } from './state.js';
import { vocab, levelRank } from './vocab.js';
import { LEVEL_COLOR, AGED_COLOR, BASE_SCALE, symbolAngle } from './symbols.js';
import { symbolSprite, haloSprite } from './sprites.js';
import { FADE_S, isAged } from './ageout.js';
import { $, num } from './util.js';
import { backBuffer, showFrame } from './canvasframe.js';

const LABEL_ZOOM = 9;
const MAX_LABELS = 500;
const SLICE_MS = 6; // work per task before yielding
const SLICE_SPRITES = 1200; // copies per task at most (they are painted at the slice's end)
const MARGIN = 24; // px around the view where tracks are still drawn

// Web Mercator's y before scaling (Leaflet clips latitude at 85.0511 degrees).
function mercY(lat) {
  const phi = (Math.max(-85.0511287798, Math.min(85.0511287798, lat)) * Math.PI) / 180;
  return Math.log(Math.tan(Math.PI / 4 + phi / 2));
}

// Yield to the page between slices (a message is not clamped like a nested setTimeout).
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => {
  const fn = waiting.shift();
  if (fn) fn();
};
function yieldThen(fn) {
  waiting.push(fn);
  channel.port2.postMessage(0);
}

// Projection of the view: Mercator is linear in longitude and in mercY(lat), so two reference
// points from Leaflet give it. Tracks in view go to draw groups 2*b (+1 when faded), b = 0 for
// aged-out tracks, then 1 + level rank, so the highest level is drawn last.
function projector(map, size, visible) {
  const o = map.latLngToContainerPoint([0, 0]);
  const r = map.latLngToContainerPoint([45, 90]);
  const ax = (r.x - o.x) / 90;
  const ay = (r.y - o.y) / mercY(45);
  const groups = [];
  for (let i = 0; i < 2 * (vocab.levels.length + 1); i++) groups.push([]);
  const last = store.lastDataMs;
  const fadeBefore = last - FADE_S * 1000;
  // project up to `n` more tracks from `iter`; false when the iterator is done
  const step = (iter, n) => {
    for (let k = 0; k < n; k++) {
      const it = iter.next();
      if (it.done) return false;
      const tr = it.value;
      if (!visible.has(tr.kind)) continue;
      const lat = tr.lat;
      const lon = tr.lon;
      if (typeof lat !== 'number' || typeof lon !== 'number') continue;
      const x = o.x + ax * lon;
      const y = o.y + ay * mercY(lat);
      if (!(x >= -MARGIN && y >= -MARGIN && x <= size.x + MARGIN && y <= size.y + MARGIN)) continue;
      const b = isAged(tr, last) ? 0 : 1 + levelRank(tr.level);
      const g = 2 * b + (b > 0 && tr._ms < fadeBefore ? 1 : 0);
      groups[g].push(tr, x, y, g);
    }
    return true;
  };
  return { step, list: () => [].concat(...groups) };
}

export function defineTrackLayers() {
  const Renderer = L.Layer.extend({
    initialize: function () {
      this.visible = new Set();
      this._hits = []; // [key, layer x, layer y, ...] of the frame on screen
      this._drawn = 0;
      this._frame = 0;
      this._job = null;
      this._again = false;
      this.lastDrawMs = 0; // work of the last complete redraw, all slices
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
      this._job = null;
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
      if (this._job) this._again = true; // one more job when this one is done
      else if (this._map && !this._frame) this._frame = L.Util.requestAnimFrame(this._kick, this);
      return this;
    },
    drawnCount: function () {
      return this._drawn;
    },
    // The key of the track drawn nearest to container point `pt`, within `radius` px.
    hit: function (pt, radius) {
      if (!this._map) return null;
      const lp = this._map.containerPointToLayerPoint(pt);
      let best = null;
      let bestD = radius * radius;
      const h = this._hits;
      for (let i = h.length - 3; i >= 0; i -= 3) {
        const dx = h[i + 1] - lp.x;
        const dy = h[i + 2] - lp.y;
        const d = dx * dx + dy * dy;
        if (d < bestD) {
          bestD = d;
          best = h[i];
        }
      }
      return best;
    },
    // The frame's callbacks (counts, panels) run first; the job starts in a task of its own.
    _kick: function () {
      yieldThen(() => this._start());
    },
    _start: function () {
      this._frame = 0;
      const map = this._map;
      if (!map || !this._canvas) return;
      const t0 = performance.now();
      const size = map.getSize();
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(size.x * dpr));
      const h = Math.max(1, Math.round(size.y * dpr));
      const back = this._back && this._back.width === w && this._back.height === h ? this._back : backBuffer(w, h);
      this._back = back;
      // read back one pixel per slice: the slice's copies are painted in that slice, not all at once later
      const ctx = back.getContext('2d', { willReadFrequently: true });
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.globalAlpha = 1;
      ctx.clearRect(0, 0, w, h);
      this._job = {
        proj: projector(map, size, this.visible), iter: store.tracks.values(), list: null, i: 0, ctx, size, dpr,
        w, h, zoom: map.getZoom(), origin: map.containerPointToLayerPoint([0, 0]), hits: [],
        work: performance.now() - t0,
      };
      this._slice();
    },
    _slice: function () {
      const job = this._job;
      if (!job || !this._map) return;
      if (this._map.getZoom() !== job.zoom) { // a zoom makes this frame useless: start again
        this._job = null;
        this._again = false;
        this.redraw();
        return;
      }
      const t0 = performance.now();
      while (!job.list) {
        if (!job.proj.step(job.iter, 512)) job.list = job.proj.list();
        else if (performance.now() - t0 > SLICE_MS) {
          job.work += performance.now() - t0;
          yieldThen(() => this._slice());
          return;
        }
      }
      const { list, ctx, dpr, hits } = job;
      const top = vocab.levels.length; // bucket of the highest level
      const halo = haloSprite(dpr);
      const ox = job.origin.x;
      const oy = job.origin.y;
      let group = -1;
      let color = LEVEL_COLOR.info;
      let scale = BASE_SCALE;
      let b = 0;
      let i = job.i;
      for (; i < list.length; i += 4) {
        if (i - job.i >= 4 * SLICE_SPRITES || ((i & 255) === 0 && performance.now() - t0 > SLICE_MS)) break;
        const g = list[i + 3];
        if (g !== group) {
          group = g;
          b = g >> 1;
          const aged = b === 0;
          scale = BASE_SCALE * (!aged && b >= top - 1 ? 1.25 : 1);
          color = aged ? AGED_COLOR : LEVEL_COLOR[vocab.levels[b - 1]] || LEVEL_COLOR.info;
          ctx.globalAlpha = aged ? 0.5 : g & 1 ? 0.45 : 1;
        }
        const tr = list[i];
        const x = list[i + 1];
        const y = list[i + 2];
        const px = Math.round(x * dpr);
        const py = Math.round(y * dpr);
        if (b === top) ctx.drawImage(halo.img, px - halo.half, py - halo.half);
        const s = symbolSprite(tr.kind, symbolAngle(tr), color, scale, dpr);
        ctx.drawImage(s.img, px - s.half, py - s.half);
        hits.push(tr.key, x + ox, y + oy);
      }
      job.i = i;
      ctx.getImageData(0, 0, 1, 1);
      job.work += performance.now() - t0;
      if (i < list.length) yieldThen(() => this._slice());
      else yieldThen(() => this._finish(job)); // showing the frame is a task of its own
    },
    _finish: function (job) {
      const t0 = performance.now();
      const canvas = this._canvas;
      if (this._job !== job) return; // removed from the map meanwhile
      this._job = null;
      if (!canvas || !this._map) return;
      canvas.classList.remove('zooming');
      if (canvas.width !== job.w || canvas.height !== job.h) {
        canvas.width = job.w;
        canvas.height = job.h;
        canvas.style.width = job.size.x + 'px';
        canvas.style.height = job.size.y + 'px';
      }
      L.DomUtil.setPosition(canvas, job.origin);
      const ctx = job.ctx;
      ctx.globalAlpha = 1;
      ctx.setTransform(job.dpr, 0, 0, job.dpr, 0, 0);
      if (job.zoom >= LABEL_ZOOM) this._labels(ctx, job.list);
      this._ring(ctx, job);
      showFrame(canvas, this._back);
      this._hits = job.hits;
      this._drawn = job.hits.length / 3;
      this.lastDrawMs = job.work + performance.now() - t0;
      const box = $('map');
      if (box.dataset.drawnCount !== String(this._drawn)) box.dataset.drawnCount = String(this._drawn);
      if (this._again) {
        this._again = false;
        this.redraw();
      }
    },
    _labels: function (ctx, list) {
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillStyle = '#dce6ef';
      let n = 0;
      for (let i = list.length - 4; i >= 0 && n < MAX_LABELS; i -= 4) { // the highest levels first
        if (!list[i].name) continue;
        ctx.fillText(String(list[i].name), list[i + 1] + 11, list[i + 2] + 4);
        n++;
      }
    },
    _ring: function (ctx, job) {
      const sel = store.selected ? store.tracks.get(store.selected) : null;
      if (!sel || !this.visible.has(sel.kind) || num(sel.lat) === null || num(sel.lon) === null) return;
      const p = this._map.latLngToLayerPoint([sel.lat, sel.lon]);
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(p.x - job.origin.x, p.y - job.origin.y, 16, 0, 2 * Math.PI);
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
