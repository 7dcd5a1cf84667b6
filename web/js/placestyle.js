// How place names look: shared by the page (places.js) and the worker that draws them (placesworker.js).
export const KINDS = ['country', 'marine', 'port'];
export const STYLE = {
  country: { font: '11px', color: '#cbd5e1' },
  marine: { font: 'italic 11px', color: '#7dd3fc' },
  port: { font: '11px', color: '#cbd5e1' },
};
export const HALO = '#0b1220';
// the halo is the name filled at eight offsets: filled glyphs come from the rasteriser's glyph cache,
// where a stroked outline is drawn as a path every time
export const HALO_OFFSETS = [[-1.5, 0], [1.5, 0], [0, -1.5], [0, 1.5], [-1, -1], [1, -1], [-1, 1], [1, 1]];
const PAD = 3; // px around the text for the halo
const LINE = 16; // px: an 11 px line with its halo

// The sprite of a name `textWidth` CSS px wide, in CSS px.
export function spriteSize(textWidth) {
  return { w: Math.ceil(textWidth) + 2 * PAD, h: LINE };
}

// Draws the sprite of one name on a canvas `newCanvas(width, height)` makes, at `dpr` device pixels per
// CSS px; gives {canvas, w, h} (w, h in CSS px).
export function drawSprite(name, kind, family, dpr, newCanvas) {
  const font = STYLE[kind].font + ' ' + family;
  const probe = newCanvas(1, 1).getContext('2d');
  probe.font = font;
  const { w, h } = spriteSize(probe.measureText(name).width);
  const canvas = newCanvas(Math.ceil(w * dpr), Math.ceil(h * dpr));
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.font = font;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = HALO;
  for (const [dx, dy] of HALO_OFFSETS) ctx.fillText(name, w / 2 + dx, h / 2 + dy);
  ctx.fillStyle = STYLE[kind].color;
  ctx.fillText(name, w / 2, h / 2);
  return { canvas, w, h };
}
