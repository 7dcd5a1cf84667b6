// Notes and hand-overs on alerts, each its own action on a server that lists "notes" in its features:
// POST /api/alerts/{id}/note and /handover. They are kept per alert (GET /api/notes at load, then one
// WebSocket message per new one) and shown with who and when in the inbox and the track panel.
import { store, bus } from './state.js';
import { hasFeature } from './vocab.js';
import { fetchJson, postJson } from './api.js';

export const notes = { byAlert: new Map(), seqs: new Set() };

export function notesOn() {
  return hasFeature('notes');
}

export function notesOf(alertId) {
  return notes.byAlert.get(String(alertId)) || [];
}

function take(n) {
  if (!n || typeof n.alert !== 'string' || typeof n.seq !== 'number' || notes.seqs.has(n.seq)) return false;
  notes.seqs.add(n.seq);
  let list = notes.byAlert.get(n.alert);
  if (!list) {
    list = [];
    notes.byAlert.set(n.alert, list);
  }
  list.push(n);
  list.sort((a, b) => a.seq - b.seq);
  return true;
}

export async function addNote(alertId, text) {
  const n = await postJson('/api/alerts/' + encodeURIComponent(alertId) + '/note', { text });
  if (take(n)) bus.emit('alerts');
  return n;
}

export async function handOver(alertId, agency, note) {
  const n = await postJson('/api/alerts/' + encodeURIComponent(alertId) + '/handover', { agency, note });
  if (take(n)) bus.emit('alerts');
  return n;
}

async function load() {
  try {
    const list = await fetchJson('/api/notes?limit=5000');
    let changed = false;
    for (const n of Array.isArray(list) ? list : []) changed = take(n) || changed;
    if (changed && store.alerts.size) bus.emit('alerts');
  } catch {
    // the notes come again with the next snapshot
  }
}

export function initNotes() {
  if (!notesOn()) return;
  bus.on('note', (n) => { if (take(n)) bus.emit('alerts'); });
  bus.on('snapshot', load);
  load();
}
