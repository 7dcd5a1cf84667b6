// Small helpers shared by the page's modules: DOM building (text only, never HTML) and formatting.

export function $(id) {
  return document.getElementById(id);
}

export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function eventMs(iso) {
  const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isFinite(ms) ? ms : NaN;
}

export function fmtTime(ms, withDate) {
  if (!Number.isFinite(ms)) return '—';
  const iso = new Date(ms).toISOString();
  return withDate ? iso.slice(0, 10) + ' ' + iso.slice(11, 19) + 'Z' : iso.slice(11, 19) + 'Z';
}

export function fmtAge(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return s + ' s';
  if (s < 5400) return Math.round(s / 60) + ' min';
  if (s < 172800) return (s / 3600).toFixed(1) + ' h';
  return Math.round(s / 86400) + ' d';
}

export function fmtNum(v, digits, unit) {
  const n = num(v);
  return n === null ? '—' : n.toFixed(digits) + (unit || '');
}

export function words(s) {
  return String(s || '').replace(/_/g, ' ');
}

// A definition-list row, skipped when there is no value.
export function row(dl, key, value) {
  if (value === null || value === undefined || value === '') return;
  dl.appendChild(el('dt', null, key));
  dl.appendChild(el('dd', null, value));
}

export function showBanner(text) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

// True while a person is typing in an action form inside `box` (a re-render would throw it away).
export function editing(box) {
  const a = document.activeElement;
  return Boolean(box && a && box.contains(a) && a.closest('form.act-form'));
}
