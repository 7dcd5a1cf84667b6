// Popups on the map (track, zone, an alert's track no longer in the picture) and map clicks.
import { store, bus } from './state.js';
import { knownLevel, kindName, trackKey, shipTypeText } from './vocab.js';
import { mapView, zoneClick, zoneLabel } from './layers.js';
import { isAir } from './symbols.js';
import { el, num, row, fmtNum, fmtTime, fmtAge, words } from './util.js';

let popup = null;

function trackPopupContent(tr) {
  const box = el('div', 'popup');
  const head = el('div', 'popup-head');
  head.appendChild(el('span', 'popup-name', tr.name || '(no name)'));
  head.appendChild(el('span', 'badge lvl-bg-' + knownLevel(tr.level), (tr.level || 'info') + ' ' + (num(tr.score) ?? 0)));
  box.appendChild(head);
  const dl = el('dl', 'popup-grid');
  const air = isAir(tr.kind);
  row(dl, 'Kind', kindName(tr.kind));
  row(dl, air ? 'ICAO' : 'MMSI', tr.id);
  row(dl, 'Flag', tr.flag || '—');
  if (!air) row(dl, 'Type', shipTypeText(tr.ship_type) || '—');
  row(dl, 'Speed', fmtNum(tr.sog, 1, ' kn'));
  row(dl, 'Course', fmtNum(tr.cog, 0, '°'));
  if (num(tr.heading) !== null) row(dl, 'Heading', fmtNum(tr.heading, 0, '°'));
  if (air) row(dl, 'Altitude', fmtNum(tr.alt_ft, 0, ' ft'));
  if (air && tr.squawk) row(dl, 'Squawk', tr.squawk);
  row(dl, 'Position', fmtNum(tr.lat, 4, '') + ', ' + fmtNum(tr.lon, 4, ''));
  row(dl, 'Time', fmtTime(tr._ms, true) + (Number.isFinite(store.lastDataMs) && Number.isFinite(tr._ms)
    ? ' (' + fmtAge((store.lastDataMs - tr._ms) / 1000) + ' before last data)' : ''));
  row(dl, 'Score', String(num(tr.score) ?? 0) + ' / 100');
  row(dl, 'Level', tr.level || 'info');
  box.appendChild(dl);
  const reasons = Array.isArray(tr.reasons) ? tr.reasons : [];
  box.appendChild(el('div', 'popup-sub', reasons.length ? 'Reasons' : 'No risk reasons'));
  if (reasons.length) {
    const ul = el('ul', 'reasons');
    for (const r of reasons) ul.appendChild(el('li', null, r));
    box.appendChild(ul);
  }
  return box;
}

function zonePopupContent(props) {
  const box = el('div', 'popup');
  box.appendChild(el('div', 'popup-name', props.name || props.id || 'zone'));
  const dl = el('dl', 'popup-grid');
  row(dl, 'Kind', zoneLabel(props.kind));
  row(dl, 'State', props.state);
  row(dl, 'Id', props.id);
  if (props.approximate) row(dl, 'Note', 'approximate boundary, not legal limits');
  box.appendChild(dl);
  return box;
}

function openGonePopup(alert, latlng) {
  const t = alert.track || {};
  const box = el('div', 'popup');
  box.appendChild(el('div', 'popup-name', t.name || '(no name)'));
  const dl = el('dl', 'popup-grid');
  row(dl, 'Kind', kindName(t.kind));
  row(dl, 'Id', t.id);
  row(dl, 'Alert', words(alert.category) + ' · ' + fmtTime(alert._ms, true));
  box.appendChild(dl);
  box.appendChild(el('div', 'popup-sub', 'Not in the current picture: position as at the alert'));
  select(null);
  popup = L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(box).openOn(mapView.map);
}

export function select(key) {
  store.selected = key;
  bus.emit('select', key);
}

export function openTrackPopup(key) {
  const tr = store.tracks.get(key);
  if (!tr) return;
  select(key);
  popup = L.popup({ maxWidth: 360, autoPan: true, className: 'track-popup' })
    .setLatLng([tr.lat, tr.lon])
    .setContent(trackPopupContent(tr))
    .openOn(mapView.map);
  popup.mdaKey = key;
}

function refreshPopup() {
  const map = mapView.map;
  if (!popup || !store.selected || !map.hasLayer(popup)) return;
  const tr = store.tracks.get(store.selected);
  if (!tr) {
    map.closePopup(popup);
    return;
  }
  popup.setLatLng([tr.lat, tr.lon]);
  popup.setContent(trackPopupContent(tr));
}

function hitTrack(pt) {
  return mapView.tracks ? mapView.tracks.hit(pt, 12) : null;
}

export function flyToTrack(key, fallback) {
  const map = mapView.map;
  const tr = store.tracks.get(key);
  const lat = tr ? num(tr.lat) : fallback ? num(fallback.lat) : null;
  const lon = tr ? num(tr.lon) : fallback ? num(fallback.lon) : null;
  if (lat === null || lon === null) return;
  map.once('moveend', () => {
    if (store.tracks.has(key)) openTrackPopup(key);
    else if (fallback) openGonePopup(fallback.alert, [lat, lon]);
  });
  map.flyTo([lat, lon], Math.max(map.getZoom(), 9), { duration: 1.2 });
}

export function flyToAlert(alert) {
  const t = alert.track || {};
  flyToTrack(trackKey(t.kind, t.id), { lat: t.lat, lon: t.lon, alert });
}

export function initPopups() {
  const map = mapView.map;
  map.on('click', (e) => {
    const key = hitTrack(e.containerPoint);
    const zone = zoneClick.pending;
    zoneClick.pending = null;
    if (key) {
      openTrackPopup(key);
    } else if (zone) {
      select(null);
      popup = L.popup({ maxWidth: 320 }).setLatLng(e.latlng)
        .setContent(zonePopupContent(zone.feature.properties || {})).openOn(map);
    }
  });
  let hoverFrame = 0;
  let hoverPoint = null;
  map.on('mousemove', (e) => {
    hoverPoint = e.containerPoint;
    if (hoverFrame) return;
    hoverFrame = L.Util.requestAnimFrame(() => {
      hoverFrame = 0;
      map.getContainer().classList.toggle('over-track', Boolean(hoverPoint && hitTrack(hoverPoint)));
    });
  });
  map.on('popupclose', (e) => {
    // closing a track's popup deselects it (not when another track's popup replaces it)
    if (e.popup.mdaKey && e.popup.mdaKey === store.selected) select(null);
  });
  bus.on('tracks', refreshPopup);
}
