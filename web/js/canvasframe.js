// A canvas layer's frame is drawn on a back buffer and then shown in one step. Where the browser has
// OffscreenCanvas, the finished buffer is handed to the visible canvas as an ImageBitmap through a
// 'bitmaprenderer' context, and the compositor shows it as it is. A visible 2D canvas would be copied
// once more when the frame is committed, on the main thread: 13-24 ms for a page-sized canvas without a
// GPU, measured in a Chromium trace of the page load with 10,000 tracks (docs/performance.md).

export function backBuffer(w, h) {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(w, h);
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  return c;
}

// Shows the frame drawn on `back` (from backBuffer, as large as `canvas`) on `canvas`. After it an
// OffscreenCanvas back buffer is blank, ready for the next frame.
export function showFrame(canvas, back) {
  const view = typeof back.transferToImageBitmap === 'function' ? canvas.getContext('bitmaprenderer') : null;
  if (view) {
    view.transferFromImageBitmap(back.transferToImageBitmap());
    return;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(back, 0, 0);
}
