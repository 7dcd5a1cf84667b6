// Track symbols as small pre-drawn bitmaps. Rasterising ten thousand anti-aliased paths costs the
// page's main thread over 100 ms per frame (the canvas is painted when the frame is committed);
// copying ten thousand small bitmaps costs a few. A sprite is drawn once per shape, colour, scale
// and course rounded to ANGLE_STEP degrees, at the screen's pixel ratio, with `drawSymbol`.
import { drawSymbol } from './symbols.js';

const ANGLE_STEP = 5;
const MAX_SPRITES = 3000; // the cache starts again past this (a few MB)
const cache = new Map();

function make(draw, radius, dpr) {
  const size = Math.ceil(2 * radius * dpr);
  const c = new OffscreenCanvas(size, size);
  const ctx = c.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  draw(ctx, radius);
  // an ImageBitmap is immutable: copying it needs no snapshot of a canvas (a canvas source does)
  return { img: c.transferToImageBitmap(), half: size / 2 };
}

function cached(key, draw, radius, dpr) {
  let s = cache.get(key);
  if (!s) {
    if (cache.size >= MAX_SPRITES) cache.clear();
    s = make(draw, radius, dpr);
    cache.set(key, s);
  }
  return s;
}

// The sprite of one track symbol: {img, half} (half: its half size in device pixels).
export function symbolSprite(kind, angle, color, scale, dpr) {
  const a = angle === null ? null : (Math.round(angle / ANGLE_STEP) * ANGLE_STEP) % 360;
  const key = kind + '|' + a + '|' + color + '|' + scale + '|' + dpr;
  const radius = (kind === 'sar_aircraft' ? 14 : 11) * scale + 2;
  return cached(key, (ctx, r) => {
    ctx.fillStyle = color;
    ctx.strokeStyle = '#081018';
    ctx.lineWidth = 1.3;
    drawSymbol(ctx, kind, a, r, r, scale);
  }, radius, dpr);
}

// The halo drawn under tracks of the highest level.
export function haloSprite(dpr) {
  return cached('halo|' + dpr, (ctx, r) => {
    ctx.fillStyle = 'rgba(255, 59, 79, 0.3)';
    ctx.beginPath();
    ctx.arc(r, r, 15, 0, 2 * Math.PI);
    ctx.fill();
  }, 16, dpr);
}
