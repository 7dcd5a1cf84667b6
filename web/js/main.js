// mdacentre live picture: Leaflet map + side panel, fed by /ws (snapshot, then deltas).
//
// Air-gapped: no tile server, no CDN. Land comes from /static/data/land.geojson, Leaflet from
// /vendor/leaflet/. Every string from the feeds is put in the page with textContent, never as HTML.
// Native ES modules, no build step: state.js holds the one state, the others render parts of it.
import { store, bus } from './state.js';
import { vocab, loadVocabulary, trackKey } from './vocab.js';
import { loadSession } from './api.js';
import { initMap, mapView } from './layers.js';
import { initPopups, openTrackPopup } from './popup.js';
import { initInbox, urgentCount, getFilters, setFilter } from './inbox.js';
import { initTrackPanel } from './track.js';
import { initSearch } from './search.js';
import { initAids } from './aids.js';
import { initTimeControls } from './timectl.js';
import { initPastView } from './pastview.js';
import { initNotes } from './notes.js';
import { initPlaces, shownPlaces } from './places.js';
import { renderFreshness, renderFeeds } from './status.js';
import { link, connect, watchdog } from './link.js';
import { $, showBanner } from './util.js';

function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

let countsDirty = false;
function scheduleCounts() {
  if (countsDirty) return;
  countsDirty = true;
  window.requestAnimationFrame(() => {
    countsDirty = false;
    const counts = {};
    for (const k of vocab.kinds) counts[k] = 0;
    for (const tr of store.tracks.values()) counts[tr.kind] = (counts[tr.kind] || 0) + 1;
    // only what changed is written: an unchanged text still costs the page a layout
    for (const k of vocab.kinds) setText($('count-' + k), String(counts[k]));
    setText($('count-total'), String(store.tracks.size));
    if ($('map').dataset.trackCount !== String(store.tracks.size)) $('map').dataset.trackCount = String(store.tracks.size);
    renderFreshness();
  });
}

function tick() {
  renderFreshness();
  if (store.feeds.length) renderFeeds();
  watchdog();
}

function expose() {
  const map = mapView.map;
  window.mdaMap = {
    map: () => map,
    trackCount: () => store.tracks.size,
    track: (key) => store.tracks.get(key) || null,
    synced: () => store.synced,
    drawnCount: () => (mapView.tracks ? mapView.tracks.drawnCount() : 0),
    alertCount: () => store.alerts.size,
    urgentCount,
    connected: () => link.connected,
    badMessages: () => store.badMessages,
    health: () => store.health || null,
    lastHandleMs: () => link.lastHandleMs,
    lastDrawMs: () => (mapView.tracks ? mapView.tracks.lastDrawMs : 0),
    screenPoint: (key) => {
      const tr = store.tracks.get(key);
      if (!tr) return null;
      const p = map.latLngToContainerPoint([tr.lat, tr.lon]);
      return { x: p.x, y: p.y };
    },
    trailLength: () => (mapView.trail ? mapView.trail.getLatLngs().length : 0),
    openTrack: openTrackPopup,
    vocabulary: () => vocab,
    trackKey,
    filters: getFilters,
    setFilter,
    shownPlaces,
  };
}

function nextTask() {
  return new Promise((resolve) => window.setTimeout(resolve, 0));
}

async function start() {
  if (typeof L === 'undefined') {
    showBanner('Map library missing: run "npm ci --prefix web" on the server, then reload.');
    return;
  }
  try {
    await loadVocabulary();
  } catch (err) {
    showBanner('Cannot load the vocabulary from the server (' + err.message + '); retrying in 5 s.');
    window.setTimeout(start, 5000);
    return;
  }
  showBanner('');
  await loadSession();
  // one part per task, so that setting up the page never holds it long (the data comes after connect)
  initMap();
  await nextTask();
  initPopups();
  initInbox();
  await nextTask();
  initTrackPanel();
  initSearch();
  initAids();
  initPlaces();
  initTimeControls();
  initPastView();
  initNotes();
  bus.on('tracks', scheduleCounts);
  expose();
  await nextTask();
  connect();
  window.setInterval(tick, 1000);
  tick();
}

start();
