// The page's one state: tracks, alerts, feeds, and what the person selected. Modules read it and
// ask for a redraw through `bus`; nothing else is shared between them.

export const store = {
  tracks: new Map(), // key -> track; `_ms` is its event time in ms (the wire's `t`)
  alerts: new Map(), // id -> alert
  seen: new Map(), // key -> [[ms, lat, lon], ...] positions this page has received (trails)
  feeds: [],
  feedsAt: 0,
  lastDataMs: NaN, // newest event time seen
  pace: [], // [wall ms, lastDataMs] samples (replay detection)
  loadedAt: Date.now(),
  selected: null, // key of the selected track
  health: null,
  badMessages: 0,
  snapshotDone: false, // the snapshot's alerts are in (later alerts are new to this page)
  synced: false, // the snapshot's tracks are in
  timeMode: 'live', // 'live', 'replay' (a served replay: timectl.js) or 'history' (a past picture: pastview.js)
  timeWord: '', // what the header adds to REPLAY / HISTORY, e.g. 'PAUSED' or the picture's time
};

export function noteDataTime(ms) {
  if (store.timeMode === 'history') return; // the picture's time stands while a past picture is shown
  if (Number.isFinite(ms) && !(ms <= store.lastDataMs)) store.lastDataMs = ms;
}

// A tiny publish/subscribe between modules ("tracks", "alerts", "select", "feeds", "health").
const handlers = new Map();

export const bus = {
  on(topic, fn) {
    if (!handlers.has(topic)) handlers.set(topic, []);
    handlers.get(topic).push(fn);
  },
  emit(topic, arg) {
    for (const fn of handlers.get(topic) || []) fn(arg);
  },
};
