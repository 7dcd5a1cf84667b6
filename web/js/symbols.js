// Track symbols drawn on a canvas: hull (vessel), plane, square (base station), diamond (AtoN).
import { num } from './util.js';

const PLANE = [[0, -10], [1.6, -7], [1.6, -2.2], [9.5, 2.8], [9.5, 4.6], [1.6, 2.6], [1.2, 7], [4.2, 9],
  [4.2, 10.2], [0, 9.2], [-4.2, 10.2], [-4.2, 9], [-1.2, 7], [-1.6, 2.6], [-9.5, 4.6], [-9.5, 2.8],
  [-1.6, -2.2], [-1.6, -7]];
const HULL = [[0, -9.5], [5.5, 7], [0, 3.8], [-5.5, 7]];
const DIAMOND = [[0, -6], [6, 0], [0, 6], [-6, 0]];
const SQUARE = [[-4.5, -4.5], [4.5, -4.5], [4.5, 4.5], [-4.5, 4.5]];

export const LEVEL_COLOR = {
  info: '#8aa4bf', low: '#3fc48f', medium: '#f0c53c', high: '#f5873d', critical: '#ff3b4f',
};
export const AGED_COLOR = '#6b7a88';
export const BASE_SCALE = 1.15; // readable from a few metres on a wall screen

export function isAir(kind) {
  return kind === 'aircraft' || kind === 'sar_aircraft';
}

function vesselAngle(tr) {
  const cog = num(tr.cog);
  const hdg = num(tr.heading);
  const sog = num(tr.sog);
  if (cog !== null && (sog === null || sog >= 0.5 || hdg === null)) return cog;
  return hdg;
}

// Which way a symbol points, in degrees (null: not rotated / unknown course).
export function symbolAngle(tr) {
  if (tr.kind === 'vessel') return vesselAngle(tr);
  if (isAir(tr.kind)) return num(tr.cog) ?? 0;
  return null;
}

function symbolPath(ctx, kind, angle, x, y, scale) {
  let shape = DIAMOND;
  if (kind === 'vessel') {
    if (angle === null) {
      ctx.moveTo(x + 4.8 * scale, y);
      ctx.arc(x, y, 4.8 * scale, 0, 2 * Math.PI);
      return;
    }
    shape = HULL;
  } else if (isAir(kind)) {
    shape = PLANE;
  } else if (kind === 'base_station') {
    shape = SQUARE;
  }
  const a = ((angle || 0) * Math.PI) / 180;
  const c = Math.cos(a) * scale;
  const s = Math.sin(a) * scale;
  for (let i = 0; i < shape.length; i++) {
    const px = shape[i][0];
    const py = shape[i][1];
    const sx = x + px * c - py * s;
    const sy = y + px * s + py * c;
    if (i === 0) ctx.moveTo(sx, sy);
    else ctx.lineTo(sx, sy);
  }
  ctx.closePath();
}

export function drawSymbol(ctx, kind, angle, x, y, scale) {
  ctx.beginPath();
  symbolPath(ctx, kind, angle, x, y, scale);
  ctx.fill();
  ctx.stroke();
  if (kind === 'sar_aircraft') {
    const stroke = ctx.strokeStyle;
    ctx.strokeStyle = ctx.fillStyle;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.arc(x, y, 13 * scale, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.strokeStyle = stroke;
  }
}
