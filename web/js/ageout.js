// Age-out of silent tracks (documented in docs/map.md): a track that has not reported for longer than
// its kind's limit, counted in event time from the newest data, is "aged": drawn grey and faded, never
// in its alert colour, and listed as aged in the track table. An aircraft that landed and went silent
// is therefore not drawn critical hours later. The server drops tracks later still (its eviction).
export const AGE_OUT_S = {
  aircraft: 600, // ADS-B reports every second while airborne; 10 min of silence: landed or out of cover
  sar_aircraft: 600,
  vessel: 3600, // class A at anchor reports every 3 min, class B every 3 min at rest: 1 h is silent
  base_station: 3600,
  aid_to_navigation: 3 * 3600,
};
export const FADE_S = 900; // older than this (but not aged out): drawn faded

export function ageSeconds(tr, lastDataMs) {
  return Number.isFinite(tr._ms) && Number.isFinite(lastDataMs) ? (lastDataMs - tr._ms) / 1000 : 0;
}

export function isAged(tr, lastDataMs) {
  const limit = AGE_OUT_S[tr.kind] ?? 3600;
  return ageSeconds(tr, lastDataMs) > limit;
}
