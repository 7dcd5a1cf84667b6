// The words shared with the server (levels, statuses, track kinds, categories, track-key format) come
// from GET /api/vocabulary before the map starts; no copy of them is kept in the page.
import { fetchJson } from './api.js';

export const vocab = {
  levels: [], // ascending gravity
  alertStatuses: [],
  activeStatuses: [],
  kinds: [],
  kindName: {},
  categories: [],
  keyTemplate: '',
  shipTypes: {}, // AIS type code -> '70 cargo'
  features: [], // optional parts of this server: replay_clock, past_picture, notes
  agencies: [], // [{id, name}]: the routing's agencies, the only ones a hand-over may name
};

function stringList(v, what) {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(what + ' is not a list of strings');
  return v;
}

export function setVocabulary(v) {
  if (!v || typeof v !== 'object') throw new Error('not a JSON object');
  const levels = stringList(v.levels, 'levels');
  if (!levels.length) throw new Error('levels is empty');
  const kinds = Array.isArray(v.track_kinds) ? v.track_kinds : [];
  if (!kinds.length || !kinds.every((k) => k && typeof k.id === 'string' && typeof k.name === 'string')) {
    throw new Error('track_kinds must list {id, name}');
  }
  const tpl = v.track_key && v.track_key.template;
  if (typeof tpl !== 'string' || !tpl.includes('{kind}') || !tpl.includes('{id}')) {
    throw new Error('track_key.template must hold {kind} and {id}');
  }
  vocab.levels = levels;
  vocab.alertStatuses = stringList(v.alert_statuses, 'alert_statuses');
  vocab.activeStatuses = stringList(v.active_statuses, 'active_statuses');
  vocab.categories = stringList(v.categories || [], 'categories');
  vocab.kinds = kinds.map((k) => k.id);
  vocab.kindName = Object.fromEntries(kinds.map((k) => [k.id, k.name]));
  vocab.keyTemplate = tpl;
  vocab.shipTypes = v.ship_types && typeof v.ship_types === 'object' ? v.ship_types : {};
  vocab.features = stringList(v.features || [], 'features');
  const agencies = Array.isArray(v.agencies) ? v.agencies : [];
  vocab.agencies = agencies.filter((a) => a && typeof a.id === 'string' && typeof a.name === 'string');
}

export function hasFeature(name) {
  return vocab.features.includes(name);
}

export async function loadVocabulary() {
  setVocabulary(await fetchJson('/api/vocabulary'));
}

export function levelRank(level) {
  const i = vocab.levels.indexOf(level);
  return i < 0 ? 0 : i;
}

export function knownLevel(level) {
  return vocab.levels.includes(level) ? level : vocab.levels[0];
}

// The two top levels (high, critical) ask a person to look now.
export function isUrgent(level) {
  return vocab.levels.length >= 2 && levelRank(level) >= vocab.levels.length - 2;
}

export function kindName(kind) {
  return vocab.kindName[kind] || String(kind || '');
}

export function trackKey(kind, id) {
  return vocab.keyTemplate.split('{kind}').join(String(kind)).split('{id}').join(String(id));
}

export function isActive(status) {
  return vocab.activeStatuses.includes(status);
}

export function shipTypeText(code) {
  if (typeof code !== 'number' || !Number.isFinite(code) || code < 0) return null;
  return vocab.shipTypes[String(code)] || String(code);
}
