// Place-name sprites, drawn in this worker off the page's main thread: each name with its halo on an
// OffscreenCanvas of its own, handed to the page as an ImageBitmap (transferred, not copied). The page
// then draws a name with one drawImage, so rasterising text (nine fills a name, and the first use of a
// font) never holds it. Command from the page: {cmd: 'sprites', family, dpr, labels: [{name, kind}]};
// answers: {sprites: [{name, kind, img, w, h}], dpr}, a batch of names per message.
import { STYLE, drawSprite } from './placestyle.js';

const BATCH = 48; // names per answer: the first ones show while the others are drawn, in few redraws

const offscreen = (w, h) => new OffscreenCanvas(w, h);

self.onmessage = (e) => {
  const d = e.data || {};
  if (d.cmd !== 'sprites' || !Array.isArray(d.labels)) return;
  const dpr = Number(d.dpr) > 0 ? Number(d.dpr) : 1;
  const family = typeof d.family === 'string' ? d.family : 'sans-serif';
  const labels = d.labels.filter((l) => l && typeof l.name === 'string' && STYLE[l.kind]);
  for (let i = 0; i < labels.length; i += BATCH) {
    const out = labels.slice(i, i + BATCH).map((l) => {
      const s = drawSprite(l.name, l.kind, family, dpr, offscreen);
      return { name: l.name, kind: l.kind, img: s.canvas.transferToImageBitmap(), w: s.w, h: s.h };
    });
    self.postMessage({ sprites: out, dpr }, out.map((s) => s.img));
  }
};
