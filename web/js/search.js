// Search by name, MMSI, IMO, call sign, ICAO address or squawk, and the sortable, filterable track table.
import { store, bus } from './state.js';
import { vocab, kindName, levelRank } from './vocab.js';
import { isAged } from './ageout.js';
import { flyToTrack } from './popup.js';
import { $, el, num, fmtAge } from './util.js';

const MAX_ROWS = 300;
const COLUMNS = [
  ['name', 'Name', (t) => t.name || ''],
  ['id', 'Id', (t) => t.id || ''],
  ['kind', 'Kind', (t) => kindName(t.kind)],
  ['flag', 'Flag', (t) => t.flag || ''],
  ['level', 'Level', (t) => levelRank(t.level)],
  ['sog', 'Speed', (t) => num(t.sog) ?? -1],
  ['age', 'Age', (t) => (Number.isFinite(store.lastDataMs) && Number.isFinite(t._ms) ? store.lastDataMs - t._ms : 0)],
];
const table = { sort: 'level', desc: true, kind: '', query: '' };
const COLLATOR = new Intl.Collator(); // the same order as localeCompare
const REFRESH_MS = 1000; // the open table follows the data at most once a second

// Does track `t` match the query? Every word must be found in one of the searchable fields.
export function matches(t, q) {
  if (!q) return true;
  const hay = [t.name, t.id, t.imo, t.callsign, t.squawk, t.flag]
    .filter((v) => v !== null && v !== undefined).map((v) => String(v).toLowerCase());
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.some((h) => h.includes(w)));
}

function rows() {
  const col = COLUMNS.find((c) => c[0] === table.sort) || COLUMNS[0];
  const get = col[2];
  const list = [];
  for (const t of store.tracks.values()) {
    if (table.kind && t.kind !== table.kind) continue;
    if (!matches(t, table.query)) continue;
    list.push(t);
  }
  // each sort key read once, strings compared with one collator (localeCompare per pair is slow)
  const keyed = list.map((t) => [get(t), t]);
  const sign = table.desc ? -1 : 1;
  keyed.sort((a, b) => {
    const x = a[0];
    const y = b[0];
    return sign * (typeof x === 'number' && typeof y === 'number' ? x - y : COLLATOR.compare(String(x), String(y)));
  });
  return keyed.map((k) => k[1]);
}

let dirty = false;
function schedule() {
  if (dirty || $('track-table-box').hidden) return;
  dirty = true;
  window.setTimeout(() => {
    dirty = false;
    render();
  }, REFRESH_MS);
}

function render() {
  const list = rows();
  const body = $('track-tbody');
  const trs = [];
  for (const t of list.slice(0, MAX_ROWS)) {
    const tr = el('tr', isAged(t, store.lastDataMs) ? 'aged' : null);
    tr.tabIndex = 0;
    tr.dataset.key = t.key;
    for (const [name, , get] of COLUMNS) {
      let v = get(t);
      if (name === 'level') v = t.level || '';
      if (name === 'sog') v = num(t.sog) === null ? '—' : t.sog.toFixed(1);
      if (name === 'age') v = fmtAge(v / 1000) + (isAged(t, store.lastDataMs) ? ' (aged)' : '');
      tr.appendChild(el('td', null, v));
    }
    const go = () => flyToTrack(t.key);
    tr.addEventListener('click', go);
    tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') go(); });
    trs.push(tr);
  }
  body.replaceChildren(...trs);
  $('track-table-count').textContent = list.length + ' tracks' + (list.length > MAX_ROWS ? ' (first ' + MAX_ROWS + ' shown)' : '');
  for (const th of document.querySelectorAll('#track-table th')) {
    th.setAttribute('aria-sort', th.dataset.col === table.sort ? (table.desc ? 'descending' : 'ascending') : 'none');
  }
}

function searchResults() {
  const q = $('search').value.trim();
  table.query = q;
  const box = $('search-results');
  if (!q) {
    box.replaceChildren();
    box.hidden = true;
    schedule();
    return;
  }
  const hits = [];
  for (const t of store.tracks.values()) {
    if (matches(t, q)) hits.push(t);
    if (hits.length >= 20) break;
  }
  const items = hits.map((t) => {
    const li = el('li', 'search-hit');
    li.setAttribute('role', 'option');
    li.tabIndex = -1;
    li.dataset.key = t.key;
    li.textContent = (t.name || '(no name)') + ' · ' + kindName(t.kind) + ' ' + t.id;
    li.addEventListener('click', () => flyToTrack(t.key));
    li.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') flyToTrack(t.key);
      else if (ev.key === 'ArrowDown' && li.nextElementSibling) li.nextElementSibling.focus();
      else if (ev.key === 'ArrowUp') (li.previousElementSibling || $('search')).focus();
    });
    return li;
  });
  if (!items.length) items.push(el('li', 'muted', 'No track matches.'));
  box.replaceChildren(...items);
  box.hidden = false;
  schedule();
}

export function initSearch() {
  const input = $('search');
  input.addEventListener('input', searchResults);
  input.addEventListener('keydown', (ev) => {
    const first = $('search-results').querySelector('.search-hit');
    if (ev.key === 'Enter' && first) flyToTrack(first.dataset.key);
    else if (ev.key === 'ArrowDown' && first) {
      first.focus();
      ev.preventDefault();
    } else if (ev.key === 'Escape') {
      input.value = '';
      searchResults();
    }
  });
  const head = $('track-thead');
  const tr = el('tr');
  for (const [name, label] of COLUMNS) {
    const th = el('th');
    th.dataset.col = name;
    th.scope = 'col';
    const b = el('button', 'sort', label);
    b.type = 'button';
    b.addEventListener('click', () => {
      table.desc = table.sort === name ? !table.desc : name === 'level' || name === 'sog';
      table.sort = name;
      render();
    });
    th.appendChild(b);
    tr.appendChild(th);
  }
  head.replaceChildren(tr);
  const kindSel = $('table-kind');
  const all = el('option', null, 'all kinds');
  all.value = '';
  kindSel.replaceChildren(all, ...vocab.kinds.map((k) => {
    const o = el('option', null, kindName(k));
    o.value = k;
    return o;
  }));
  kindSel.addEventListener('change', () => {
    table.kind = kindSel.value;
    render();
  });
  $('toggle-table').addEventListener('click', () => {
    const box = $('track-table-box');
    box.hidden = !box.hidden;
    $('toggle-table').setAttribute('aria-expanded', String(!box.hidden));
    if (!box.hidden) render();
  });
  bus.on('tracks', schedule);
}
