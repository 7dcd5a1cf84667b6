// The alert inbox: what needs a person first (open and unacknowledged, by level then newest), then the
// rest; filters by level, category, state and status with counts; new high/critical alerts draw
// attention (highlight, a counter in the title, optional sound and desktop notification). A high or
// critical alert that closed before anyone acknowledged it stays in "needs attention", marked
// "closed, never acknowledged", until a person acknowledges it. Info-level alerts are routine events
// and stay out of the inbox (the "routine" filter shows them).
import { store, bus } from './state.js';
import { vocab, knownLevel, levelRank, isUrgent, isActive, kindName } from './vocab.js';
import { actionBar, ackHistory, hasHistory, historyList } from './actions.js';
import { notesOf } from './notes.js';
import { flyToAlert } from './popup.js';
import { editing, $, el, num, fmtTime, words } from './util.js';

const MAX_SHOWN = 200;
const BASE_TITLE = document.title;
const filters = { level: '', category: '', state: '', status: '', routine: false };
const fresh = new Set(); // ids of urgent alerts that arrived after load and nobody has looked at yet
const prefs = { sound: false, notify: false };

export function acknowledged(a) {
  return ackHistory(a).length > 0 || a.status === 'acknowledged';
}

// True when the alert still needs a person: open and not acknowledged, or urgent and closed unseen.
export function needsAttention(a) {
  if (a.status === 'retracted' || acknowledged(a)) return false;
  return isActive(a.status) || isUrgent(a.level);
}

export function closedUnseen(a) {
  return !isActive(a.status) && a.status !== 'retracted' && !acknowledged(a) && isUrgent(a.level);
}

function routine(a) {
  return levelRank(a.level) === 0;
}

export function inboxOrder(a, b) {
  const na = needsAttention(a) ? 1 : 0;
  const nb = needsAttention(b) ? 1 : 0;
  if (na !== nb) return nb - na;
  const lv = levelRank(b.level) - levelRank(a.level);
  if (na && lv) return lv;
  return (b._ms || 0) - (a._ms || 0);
}

function stateOf(a) {
  return (a.zone && a.zone.state) || '';
}

function passes(a, skip) {
  if (!filters.routine && routine(a) && filters.level !== a.level) return false;
  if (skip !== 'level' && filters.level && a.level !== filters.level) return false;
  if (skip !== 'category' && filters.category && a.category !== filters.category) return false;
  if (skip !== 'state' && filters.state && stateOf(a) !== filters.state) return false;
  if (skip !== 'status' && filters.status && a.status !== filters.status) return false;
  return true;
}

// The options are written again only when the values change; otherwise only the counts that changed.
function fillSelect(sel, name, values, counts) {
  const keep = filters[name];
  const texts = values.map((v) => (words(v) || '(none)') + ' (' + (counts.get(v) || 0) + ')');
  const same = sel.options.length === values.length + 1 && values.every((v, i) => sel.options[i + 1].value === v);
  if (same) {
    values.forEach((v, i) => setText(sel.options[i + 1], texts[i]));
  } else {
    const opts = [el('option', null, 'all')];
    opts[0].value = '';
    values.forEach((v, i) => {
      const o = el('option', null, texts[i]);
      o.value = v;
      opts.push(o);
    });
    sel.replaceChildren(...opts);
  }
  if (sel.value !== keep) sel.value = keep;
}

function renderFilters(all) {
  const dims = {
    level: (a) => a.level,
    category: (a) => a.category,
    state: stateOf,
    status: (a) => a.status,
  };
  for (const [name, get] of Object.entries(dims)) {
    const counts = new Map();
    for (const a of all) {
      if (!passes(a, name)) continue;
      const v = get(a) || '';
      counts.set(v, (counts.get(v) || 0) + 1);
    }
    let values;
    if (name === 'level') values = vocab.levels.slice().reverse();
    else if (name === 'status') values = vocab.alertStatuses;
    else values = Array.from(new Set([...counts.keys(), ...(name === 'category' ? vocab.categories : [])])).sort();
    fillSelect($('filter-' + name), name, values, counts);
  }
}

// One row per alert id, kept across renders: a new alert inserts its row, a new version of an alert
// fills its row again in place, a change of order moves rows; nothing else in the list is touched, so
// focus, scroll position and the rows' nodes survive other alerts arriving.
const rows = new Map(); // id -> { li, alert, mark }: the alert version and notes the row shows

// What a row shows besides the alert itself: the "new" highlight and the alert's notes.
function rowMark(id) {
  return (fresh.has(id) ? 'fresh' : '') + '|' + notesOf(id).length;
}

function makeRow(id) {
  const li = el('li');
  li.tabIndex = 0;
  li.dataset.alertId = id;
  const go = () => {
    const a = store.alerts.get(id);
    if (!a) return;
    fresh.delete(id);
    li.classList.remove('fresh');
    const row = rows.get(id);
    if (row) row.mark = rowMark(id);
    flyToAlert(a);
  };
  li.addEventListener('click', go);
  li.addEventListener('keydown', (ev) => {
    if (ev.target !== li) return;
    if (ev.key === 'Enter') go();
    else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      const next = ev.key === 'ArrowDown' ? li.nextElementSibling : li.previousElementSibling;
      if (next) next.focus();
      ev.preventDefault();
    }
  });
  return li;
}

function fillRow(li, a, urgentNew) {
  const level = knownLevel(a.level);
  li.className = 'alert lvl-' + level + ' status-' + String(a.status || 'open')
    + (needsAttention(a) ? ' needs-attention' : '') + (acknowledged(a) ? ' acked' : '') + (urgentNew ? ' fresh' : '');
  const parts = [];
  const head = el('div', 'alert-head');
  head.appendChild(el('span', 'badge lvl-bg-' + level, level + ' ' + (num(a.score) ?? '')));
  head.appendChild(el('span', 'alert-cat', words(a.category || 'alert')));
  head.appendChild(el('span', 'alert-time', fmtTime(a._ms, false)));
  parts.push(head);
  const t = a.track || {};
  const who = el('div', 'alert-who');
  who.appendChild(el('span', 'alert-name', t.name || '(no name)'));
  who.appendChild(el('span', 'muted', ' ' + kindName(t.kind) + ' ' + (t.id || '')));
  parts.push(who);
  if (a.zone && a.zone.name) parts.push(el('div', 'alert-zone', 'Zone: ' + a.zone.name + (a.zone.state ? ' (' + a.zone.state + ')' : '')));
  const reasons = Array.isArray(a.reasons) ? a.reasons : [];
  if (reasons.length) parts.push(el('div', 'alert-reasons', reasons.slice(0, 3).join(' · ')));
  const status = [];
  if (closedUnseen(a)) status.push('closed, never acknowledged');
  else if (a.status && a.status !== 'open') status.push(a.status);
  if (a.version > 1) status.push('v' + a.version);
  if (status.length) parts.push(el('div', 'alert-status', status.join(' · ')));
  if (/^[0-9a-f]{8,40}$/.test(String(a.id))) { // incident briefing (self-contained HTML) from the archive
    const brief = el('a', 'alert-brief', 'briefing');
    brief.href = '/api/alerts/' + a.id + '/brief';
    brief.download = 'brief-' + a.id + '.html';
    brief.addEventListener('click', (ev) => ev.stopPropagation());
    parts.push(brief);
  }
  if (hasHistory(a)) parts.push(historyList(a));
  parts.push(actionBar(a, onActed));
  li.replaceChildren(...parts);
}

function onActed(doc) {
  if (doc && doc.id) acceptAlert(doc);
  fresh.delete(String(doc && doc.id));
  schedule();
}

export function acceptAlert(a) {
  const id = String(a.id);
  const before = store.alerts.get(id);
  if (store.snapshotDone && !before && isUrgent(a.level) && needsAttention(a)) {
    fresh.add(id);
    attract(a);
  }
  store.alerts.set(id, a);
  if (store.alerts.size > 1000) {
    const list = Array.from(store.alerts.values()).sort(inboxOrder);
    for (const o of list.slice(1000)) store.alerts.delete(String(o.id));
  }
}

function attract(a) {
  if (prefs.sound) beep(a.level);
  if (prefs.notify && 'Notification' in window && Notification.permission === 'granted') {
    const t = a.track || {};
    new Notification('mdacentre: ' + a.level + ' ' + words(a.category), { body: (t.name || t.id || '') + '', tag: String(a.id) });
  }
}

let audio = null;
function beep(level) {
  try {
    audio = audio || new AudioContext();
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = levelRank(level) === vocab.levels.length - 1 ? 880 : 660;
    g.gain.value = 0.08;
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.25);
  } catch {
    /* no audio device: the highlight and the title still say it */
  }
}

// A long list is built a part per task (at most ROWS_PER_TASK rows built or refilled per task), so
// that building and laying out some hundred alerts never holds the page; the next part follows in a
// task of its own, in the order as it is then.
const ROWS_PER_TASK = 4;
let dirty = false;
let more = 0; // timer of the next part
let held = false; // a row being edited was left as it was

export function schedule() {
  if (dirty) return;
  dirty = true;
  window.requestAnimationFrame(render);
}

function moveTo(ol, node, before) {
  if (node.isConnected && typeof ol.moveBefore === 'function') ol.moveBefore(node, before); // keeps focus
  else ol.insertBefore(node, before);
}

// Make the list's rows those of `items`, in that order, building at most `budget` rows; true when done.
function reconcile(ol, items, budget) {
  const want = new Set(items.map((a) => String(a.id)));
  for (const [id, row] of rows) {
    if (!want.has(id)) {
      row.li.remove();
      rows.delete(id);
    }
  }
  const focused = ol.contains(document.activeElement) ? document.activeElement : null;
  let built = 0;
  let cursor = ol.firstElementChild;
  for (const a of items) {
    const id = String(a.id);
    const mark = rowMark(id);
    let row = rows.get(id);
    const stale = !row || row.alert !== a || row.mark !== mark;
    if (stale && row && editing(row.li)) {
      // a note or retraction is being written in this row: its new version waits until it is done
      held = true;
    } else if (stale) {
      if (built >= budget) return false;
      built += 1;
      if (!row) {
        row = { li: makeRow(id), alert: a, mark };
        rows.set(id, row);
      }
      const hadFocus = row.li !== focused && row.li.contains(document.activeElement);
      fillRow(row.li, a, fresh.has(id));
      row.alert = a;
      row.mark = mark;
      if (hadFocus) row.li.focus({ preventScroll: true }); // the focused button was rebuilt: its row keeps focus
    }
    if (row.li === cursor) cursor = cursor.nextElementSibling;
    else moveTo(ol, row.li, cursor);
  }
  if (focused && focused.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
  return true;
}

function render() {
  dirty = false;
  window.clearTimeout(more);
  more = 0;
  const ol = $('alert-list');
  if (typeof ol.moveBefore !== 'function' && editing(ol)) {
    window.setTimeout(schedule, 400); // moving the row being edited would take its focus
    return;
  }
  const all = Array.from(store.alerts.values());
  const shown = all.filter((a) => passes(a)).sort(inboxOrder);
  held = false;
  if (!reconcile(ol, shown.slice(0, MAX_SHOWN), ROWS_PER_TASK)) more = window.setTimeout(render, 0);
  else if (held) more = window.setTimeout(schedule, 400);
  const attention = all.filter(needsAttention);
  const urgent = attention.filter((a) => isUrgent(a.level)).length;
  setText($('alert-count'), shown.length + ' shown · ' + attention.length + ' need attention');
  $('alert-empty').hidden = shown.length > 0;
  const title = (urgent ? '(' + urgent + ') ' : '') + BASE_TITLE;
  if (document.title !== title) document.title = title;
  $('map').dataset.urgentCount = String(urgent);
  renderFilters(all);
  bus.emit('alerts-rendered');
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function urgentCount() {
  return Array.from(store.alerts.values()).filter((a) => needsAttention(a) && isUrgent(a.level)).length;
}

export function setFilter(name, value) {
  filters[name] = value;
  schedule();
}

export function getFilters() {
  return { ...filters };
}

export function initInbox() {
  for (const name of ['level', 'category', 'state', 'status']) {
    $('filter-' + name).addEventListener('change', (ev) => setFilter(name, ev.target.value));
  }
  $('filter-routine').addEventListener('change', (ev) => setFilter('routine', ev.target.checked));
  $('pref-sound').addEventListener('change', (ev) => { prefs.sound = ev.target.checked; });
  $('pref-notify').addEventListener('change', (ev) => {
    prefs.notify = ev.target.checked;
    if (prefs.notify && 'Notification' in window && Notification.permission === 'default') Notification.requestPermission();
  });
  bus.on('alerts', schedule);
}
