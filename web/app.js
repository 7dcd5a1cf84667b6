/* mdacentre live picture: Leaflet map + side panel, fed by /ws (snapshot, then deltas).
 *
 * Air-gapped: no tile server, no CDN. Land comes from /static/data/land.geojson, Leaflet from
 * /vendor/leaflet/. Every string that comes from the feeds (vessel names, reasons ...) is put in
 * the page with textContent, never as HTML.
 */
(function () {
  'use strict';

  // ------------------------------------------------------------------ constants
  // The shared words (levels, statuses, track kinds, categories, track-key format) are the
  // server's: GET /api/vocabulary fills `vocab` before the map starts; no copy lives here.
  const vocab = {
    levels: [], // ascending gravity
    alertStatuses: [],
    activeStatuses: [],
    kinds: [],
    kindName: {},
    categories: [],
    keyTemplate: '',
  };
  const LEVEL_COLOR = {
    info: '#8aa4bf', low: '#3fc48f', medium: '#f0c53c', high: '#f5873d', critical: '#ff3b4f',
  };
  const ZONE_STYLE = {
    territorial_sea: { label: 'Territorial seas', color: '#5ec8ff', weight: 1.6, dashArray: '7 5', fillOpacity: 0.04 },
    contiguous_zone: { label: 'Contiguous zones', color: '#5ec8ff', weight: 1, dashArray: '2 5', fillOpacity: 0 },
    eez: { label: 'EEZ', color: '#8fa8ff', weight: 1, opacity: 0.75, fillOpacity: 0 },
    watch_area: { label: 'Watch areas', color: '#c9a0ff', weight: 1, opacity: 0.8, fillOpacity: 0.025 },
    transit_gate: { label: 'Transit gates', color: '#ff5fd2', weight: 4, opacity: 0.95, fillOpacity: 0.15 },
    // hidden: listed in the layer control but off at start (hundreds of small circles)
    port_approach: { label: 'Port approaches', color: '#7ee0c3', weight: 1.5, dashArray: '8 3 2 3', fillOpacity: 0.04, hidden: true },
    airport: { label: 'Airports', color: '#ffd166', weight: 1.2, dashArray: '3 3', fillOpacity: 0.04, hidden: true },
    restricted: { label: 'Restricted areas', color: '#ff6b6b', weight: 2, fillOpacity: 0.06 },
    protected: { label: 'Protected areas', color: '#6bd66b', weight: 1.5, fillOpacity: 0.05 },
    custom: { label: 'Other zones', color: '#cfd8e0', weight: 1.2, fillOpacity: 0.03 },
  };
  const CARIBBEAN = [[5, -90], [30, -55]];
  const MAX_ALERTS_SHOWN = 200;
  const HEARTBEAT_TIMEOUT_MS = 45000;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const FRESH_S = 60;
  const STALE_S = 300;
  const OLD_TRACK_S = 900; // drawn faded when this much older than the newest data
  const LABEL_ZOOM = 9;
  const BASE_SCALE = 1.15; // symbols readable from a few metres on a wall screen

  // ------------------------------------------------------------------ state
  const store = {
    tracks: new Map(), // key -> track
    alerts: new Map(), // id -> alert
    feeds: [],
    feedsAt: 0, // Date.now() when feeds arrived (ages are counted on from there)
    lastDataMs: NaN, // newest event time seen (tracks and alerts)
    pace: [], // [wall ms, lastDataMs] samples of the last minute (replay detection)
    selected: null, // key of the track whose popup is open
    badMessages: 0,
  };

  function levelRank(level) {
    const i = vocab.levels.indexOf(level);
    return i < 0 ? 0 : i;
  }

  function num(v) {
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  }

  function eventMs(iso) {
    const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
    return Number.isFinite(ms) ? ms : NaN;
  }

  function noteDataTime(ms) {
    if (Number.isFinite(ms) && !(ms <= store.lastDataMs)) store.lastDataMs = ms;
  }

  function trackKey(kind, id) {
    return vocab.keyTemplate.split('{kind}').join(String(kind)).split('{id}').join(String(id));
  }

  function knownLevel(level) {
    return vocab.levels.includes(level) ? level : vocab.levels[0];
  }

  function kindName(kind) {
    return vocab.kindName[kind] || String(kind || '');
  }

  function stringList(v, what) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(what + ' is not a list of strings');
    return v;
  }

  function setVocabulary(v) {
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
  }

  async function loadVocabulary() {
    setVocabulary(await fetchJson('/api/vocabulary'));
  }

  // ------------------------------------------------------------------ small DOM helpers
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function $(id) {
    return document.getElementById(id);
  }

  function fmtTime(ms, withDate) {
    if (!Number.isFinite(ms)) return '—';
    const iso = new Date(ms).toISOString(); // 2025-02-05T19:54:38.000Z
    return withDate ? iso.slice(0, 10) + ' ' + iso.slice(11, 19) + 'Z' : iso.slice(11, 19) + 'Z';
  }

  function fmtAge(seconds) {
    if (!Number.isFinite(seconds)) return '—';
    const s = Math.max(0, Math.round(seconds));
    if (s < 90) return s + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    if (s < 172800) return (s / 3600).toFixed(1) + ' h';
    return Math.round(s / 86400) + ' d';
  }

  function fmtNum(v, digits, unit) {
    const n = num(v);
    return n === null ? '—' : n.toFixed(digits) + (unit || '');
  }

  function shipTypeText(code) {
    const c = num(code);
    if (c === null || c < 0) return null;
    const named = { 30: 'fishing', 31: 'towing', 32: 'towing (large)', 33: 'dredging', 34: 'diving ops',
      35: 'military ops', 36: 'sailing', 37: 'pleasure craft', 50: 'pilot', 51: 'search and rescue', 52: 'tug',
      53: 'port tender', 54: 'anti-pollution', 55: 'law enforcement', 58: 'medical transport' };
    if (named[c]) return c + ' ' + named[c];
    const decade = { 2: 'wing in ground', 4: 'high-speed craft', 6: 'passenger', 7: 'cargo', 8: 'tanker', 9: 'other' };
    const d = Math.floor(c / 10);
    return decade[d] ? c + ' ' + decade[d] : String(c);
  }

  function showBanner(text) {
    const b = $('banner');
    b.textContent = text;
    b.hidden = !text;
  }

  // ------------------------------------------------------------------ symbols
  const PLANE = [[0, -10], [1.6, -7], [1.6, -2.2], [9.5, 2.8], [9.5, 4.6], [1.6, 2.6], [1.2, 7], [4.2, 9],
    [4.2, 10.2], [0, 9.2], [-4.2, 10.2], [-4.2, 9], [-1.2, 7], [-1.6, 2.6], [-9.5, 4.6], [-9.5, 2.8],
    [-1.6, -2.2], [-1.6, -7]];
  const HULL = [[0, -9.5], [5.5, 7], [0, 3.8], [-5.5, 7]];

  const DIAMOND = [[0, -6], [6, 0], [0, 6], [-6, 0]];
  const SQUARE = [[-4.5, -4.5], [4.5, -4.5], [4.5, 4.5], [-4.5, 4.5]];

  function vesselAngle(tr) {
    const cog = num(tr.cog);
    const hdg = num(tr.heading);
    const sog = num(tr.sog);
    if (cog !== null && (sog === null || sog >= 0.5 || hdg === null)) return cog;
    return hdg;
  }

  // Which way a symbol points, in degrees (null: not rotated / unknown course).
  function symbolAngle(tr) {
    if (tr.kind === 'vessel') return vesselAngle(tr);
    if (tr.kind === 'aircraft' || tr.kind === 'sar_aircraft') return num(tr.cog) ?? 0;
    return null;
  }

  function symbolPath(ctx, kind, angle, x, y, scale) {
    let shape = DIAMOND;
    if (kind === 'vessel') {
      if (angle === null) {
        ctx.moveTo(x + 4.8 * scale, y);
        ctx.arc(x, y, 4.8 * scale, 0, 2 * Math.PI);
        return;
      }
      shape = HULL;
    } else if (kind === 'aircraft' || kind === 'sar_aircraft') {
      shape = PLANE;
    } else if (kind === 'base_station') {
      shape = SQUARE;
    }
    const a = ((angle || 0) * Math.PI) / 180;
    const c = Math.cos(a) * scale;
    const s = Math.sin(a) * scale;
    for (let i = 0; i < shape.length; i++) {
      const px = shape[i][0];
      const py = shape[i][1];
      const sx = x + px * c - py * s;
      const sy = y + px * s + py * c;
      if (i === 0) ctx.moveTo(sx, sy);
      else ctx.lineTo(sx, sy);
    }
    ctx.closePath();
  }

  function drawSymbol(ctx, kind, angle, x, y, scale) {
    ctx.beginPath();
    symbolPath(ctx, kind, angle, x, y, scale);
    ctx.fill();
    ctx.stroke();
    if (kind === 'sar_aircraft') {
      const stroke = ctx.strokeStyle;
      ctx.strokeStyle = ctx.fillStyle;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.arc(x, y, 13 * scale, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.strokeStyle = stroke;
    }
  }

  // ------------------------------------------------------------------ canvas track renderer
  // One canvas for every track (no DOM element per track), redrawn in one animation frame whenever
  // the view or the data changes; only tracks inside the view are drawn. The layer-control entries (vessels / aircraft / stations) only switch kinds on and off.
  function defineTrackLayers() {
    const Renderer = L.Layer.extend({
      initialize: function () {
        this.visible = new Set();
        this._hits = [];
        this._drawn = 0;
        this._frame = 0;
        this.lastDrawMs = 0;
      },
      onAdd: function (map) {
        this._map = map;
        this._canvas = L.DomUtil.create('canvas', 'mda-track-canvas', map.getPane('tracks'));
        map.on('move zoom resize viewreset zoomend', this.redraw, this);
        map.on('zoomanim', this._hide, this);
        this.redraw();
      },
      onRemove: function (map) {
        map.off('move zoom resize viewreset zoomend', this.redraw, this);
        map.off('zoomanim', this._hide, this);
        if (this._frame) L.Util.cancelAnimFrame(this._frame);
        this._frame = 0;
        L.DomUtil.remove(this._canvas);
        this._canvas = null;
      },
      setKinds: function (kinds, on) {
        for (const k of kinds) {
          if (on) this.visible.add(k);
          else this.visible.delete(k);
        }
        return this.redraw();
      },
      _hide: function () {
        if (this._canvas) this._canvas.classList.add('zooming');
      },
      redraw: function () {
        if (this._map && !this._frame) this._frame = L.Util.requestAnimFrame(this._draw, this);
        return this;
      },
      drawnCount: function () {
        return this._drawn;
      },
      hit: function (pt, radius) {
        let best = null;
        let bestD = radius * radius;
        const h = this._hits;
        for (let i = h.length - 3; i >= 0; i -= 3) { // top-most (drawn last) first
          const dx = h[i + 1] - pt.x;
          const dy = h[i + 2] - pt.y;
          const d = dx * dx + dy * dy;
          if (d < bestD) {
            bestD = d;
            best = h[i];
          }
        }
        return best;
      },
      _project: function (size) {
        const map = this._map;
        const buckets = [[], [], [], [], []];
        const m = 24;
        for (const tr of store.tracks.values()) {
          if (!this.visible.has(tr.kind)) continue;
          const lat = num(tr.lat);
          const lon = num(tr.lon);
          if (lat === null || lon === null) continue;
          const p = map.latLngToContainerPoint([lat, lon]);
          if (p.x < -m || p.y < -m || p.x > size.x + m || p.y > size.y + m) continue;
          buckets[levelRank(tr.level)].push(tr, p.x, p.y);
        }
        return buckets;
      },
      _draw: function () {
        this._frame = 0;
        const map = this._map;
        const canvas = this._canvas;
        if (!map || !canvas) return;
        const t0 = performance.now();
        canvas.classList.remove('zooming');
        const size = map.getSize();
        const dpr = window.devicePixelRatio || 1;
        const w = Math.round(size.x * dpr);
        const h = Math.round(size.y * dpr);
        if (canvas.width !== w || canvas.height !== h) {
          canvas.width = w;
          canvas.height = h;
          canvas.style.width = size.x + 'px';
          canvas.style.height = size.y + 'px';
        }
        L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
        const ctx = canvas.getContext('2d');
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        ctx.clearRect(0, 0, size.x, size.y);
        const buckets = this._project(size);
        const oldBefore = store.lastDataMs - OLD_TRACK_S * 1000;
        const hits = [];
        ctx.lineWidth = 1.3;
        for (let rank = 0; rank < buckets.length; rank++) {
          const b = buckets[rank];
          const scale = BASE_SCALE * (rank >= 3 ? 1.25 : 1);
          const color = LEVEL_COLOR[vocab.levels[rank]] || LEVEL_COLOR.info;
          for (let i = 0; i < b.length; i += 3) {
            const tr = b[i];
            const x = b[i + 1];
            const y = b[i + 2];
            ctx.globalAlpha = tr._ms < oldBefore ? 0.45 : 1; // long-silent tracks are faded
            if (rank === 4) { // critical: a halo under the symbol
              ctx.fillStyle = 'rgba(255, 59, 79, 0.3)';
              ctx.beginPath();
              ctx.arc(x, y, 15, 0, 2 * Math.PI);
              ctx.fill();
            }
            ctx.fillStyle = color;
            ctx.strokeStyle = '#081018';
            drawSymbol(ctx, tr.kind, symbolAngle(tr), x, y, scale);
            hits.push(tr.key, x, y);
          }
        }
        ctx.globalAlpha = 1;
        if (map.getZoom() >= LABEL_ZOOM) this._labels(ctx, buckets);
        this._ring(ctx);
        this._hits = hits;
        this._drawn = hits.length / 3;
        this.lastDrawMs = performance.now() - t0;
        $('map').dataset.drawnCount = String(this._drawn);
      },
      _labels: function (ctx, buckets) {
        ctx.font = '12px system-ui, sans-serif';
        ctx.fillStyle = '#dce6ef';
        let n = 0;
        for (let rank = buckets.length - 1; rank >= 0 && n < 500; rank--) {
          const b = buckets[rank];
          for (let i = 0; i < b.length && n < 500; i += 3) {
            if (!b[i].name) continue;
            ctx.fillText(String(b[i].name), b[i + 1] + 11, b[i + 2] + 4);
            n++;
          }
        }
      },
      _ring: function (ctx) {
        const sel = store.selected ? store.tracks.get(store.selected) : null;
        if (!sel || !this.visible.has(sel.kind) || num(sel.lat) === null || num(sel.lon) === null) return;
        const p = this._map.latLngToContainerPoint([sel.lat, sel.lon]);
        ctx.strokeStyle = '#ffffff';
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.arc(p.x, p.y, 16, 0, 2 * Math.PI);
        ctx.stroke();
      },
    });
    const KindToggle = L.Layer.extend({
      initialize: function (renderer, kinds) {
        this._renderer = renderer;
        this._kinds = kinds;
      },
      onAdd: function () {
        this._renderer.setKinds(this._kinds, true);
      },
      onRemove: function () {
        this._renderer.setKinds(this._kinds, false);
      },
    });
    return { Renderer: Renderer, KindToggle: KindToggle };
  }

  // ------------------------------------------------------------------ map
  let map = null;
  let tracksLayer = null;
  let popup = null;
  let pendingZone = null;
  const zoneGroups = {};
  let layersControl = null;

  function redrawTracks() {
    if (tracksLayer) tracksLayer.redraw();
  }

  function initMap() {
    map = L.map('map', {
      zoomControl: true,
      attributionControl: true,
      minZoom: 3,
      maxZoom: 15,
      worldCopyJump: false,
      zoomSnap: 0.5,
    });
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution('Land: Natural Earth (public domain)');
    map.createPane('land').style.zIndex = '250';
    map.createPane('tracks').style.zIndex = '450';
    map.getPane('tracks').style.pointerEvents = 'none';
    map.fitBounds(CARIBBEAN);
    L.control.scale({ metric: true, imperial: false, position: 'bottomleft' }).addTo(map);

    const T = defineTrackLayers();
    tracksLayer = new T.Renderer().addTo(map);
    const overlays = {
      Vessels: new T.KindToggle(tracksLayer, ['vessel']),
      Aircraft: new T.KindToggle(tracksLayer, ['aircraft', 'sar_aircraft']),
      'Base stations & AtoN': new T.KindToggle(tracksLayer, ['base_station', 'aid_to_navigation']),
    };
    for (const name of Object.keys(overlays)) overlays[name].addTo(map);
    layersControl = L.control.layers(null, overlays, { collapsed: false, position: 'topright' }).addTo(map);
    buildLegend();

    map.on('click', onMapClick);
    map.on('mousemove', onMouseMove);
    map.on('popupclose', function (e) {
      if (e.popup === popup) {
        store.selected = null;
        redrawTracks();
      }
    });
    loadLand();
    loadZones(0);
  }

  function buildLegend() {
    const box = $('legend');
    const levels = el('div', 'legend-line');
    for (const lv of vocab.levels) {
      const item = el('span', 'legend-item');
      item.appendChild(el('span', 'swatch lvl-bg-' + lv));
      item.appendChild(el('span', null, lv));
      levels.appendChild(item);
    }
    const symbols = el('div', 'legend-line');
    const samples = [
      { kind: 'vessel', cog: 45, sog: 10, label: 'vessel' },
      { kind: 'vessel', label: 'no course' },
      { kind: 'aircraft', cog: 45, label: 'aircraft' },
      { kind: 'sar_aircraft', cog: 45, label: 'SAR' },
      { kind: 'base_station', label: 'base stn' },
      { kind: 'aid_to_navigation', label: 'AtoN' },
    ];
    const dpr = window.devicePixelRatio || 1;
    for (const s of samples) {
      const item = el('span', 'legend-item');
      const c = el('canvas', 'legend-symbol');
      c.width = Math.round(26 * dpr);
      c.height = Math.round(26 * dpr);
      const ctx = c.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.fillStyle = LEVEL_COLOR.info;
      ctx.strokeStyle = '#081018';
      ctx.lineWidth = 1.3;
      drawSymbol(ctx, s.kind, symbolAngle(s), 13, 13, s.kind === 'sar_aircraft' ? 0.8 : BASE_SCALE);
      item.appendChild(c);
      item.appendChild(el('span', null, s.label));
      symbols.appendChild(item);
    }
    box.replaceChildren(levels, symbols);
  }

  async function fetchJson(url) {
    const resp = await fetch(url, { cache: 'no-cache' });
    if (resp.status === 401) window.location.assign('/login'); // session ended: sign in again
    if (!resp.ok) throw new Error(url + ' answered HTTP ' + resp.status);
    return resp.json();
  }

  async function loadLand() {
    try {
      const land = await fetchJson('/static/data/land.geojson');
      L.geoJSON(land, {
        pane: 'land',
        interactive: false,
        renderer: L.canvas({ pane: 'land', padding: 0.5 }),
        style: { color: '#4a5a68', weight: 0.8, fillColor: '#27323c', fillOpacity: 1 },
      }).addTo(map);
    } catch (err) {
      showBanner('Basemap not available (' + err.message + '); tracks are still shown.');
    }
  }

  async function loadZones(attempt) {
    let fc;
    try {
      fc = await fetchJson('/api/zones');
    } catch (err) {
      const wait = Math.min(60000, 2000 * Math.pow(2, attempt));
      window.setTimeout(() => loadZones(attempt + 1), wait);
      return;
    }
    for (const kind of Object.keys(zoneGroups)) {
      layersControl.removeLayer(zoneGroups[kind]);
      map.removeLayer(zoneGroups[kind]);
      delete zoneGroups[kind];
    }
    const byKind = {};
    for (const f of (fc && Array.isArray(fc.features) ? fc.features : [])) {
      const kind = f && f.properties && ZONE_STYLE[f.properties.kind] ? f.properties.kind : 'custom';
      (byKind[kind] = byKind[kind] || []).push(f);
    }
    for (const kind of Object.keys(ZONE_STYLE)) {
      if (!byKind[kind]) continue;
      const st = ZONE_STYLE[kind];
      const group = L.geoJSON({ type: 'FeatureCollection', features: byKind[kind] }, {
        style: function () {
          return { color: st.color, weight: st.weight, opacity: st.opacity ?? 0.9, dashArray: st.dashArray || null,
            fillColor: st.color, fillOpacity: st.fillOpacity ?? 0.04 };
        },
        onEachFeature: function (feature, layer) {
          layer.on('click', function () { pendingZone = { feature: feature, layer: layer }; });
        },
      });
      if (!st.hidden) group.addTo(map);
      zoneGroups[kind] = group;
      layersControl.addOverlay(group, st.label + ' (' + byKind[kind].length + ')');
    }
  }

  // ------------------------------------------------------------------ popups
  function row(dl, key, value) {
    if (value === null || value === undefined || value === '') return;
    dl.appendChild(el('dt', null, key));
    dl.appendChild(el('dd', null, value));
  }

  function trackPopupContent(tr) {
    const box = el('div', 'popup');
    const head = el('div', 'popup-head');
    head.appendChild(el('span', 'popup-name', tr.name || '(no name)'));
    head.appendChild(el('span', 'badge lvl-bg-' + knownLevel(tr.level),
      (tr.level || 'info') + ' ' + (num(tr.score) ?? 0)));
    box.appendChild(head);
    const dl = el('dl', 'popup-grid');
    const isAir = tr.kind === 'aircraft' || tr.kind === 'sar_aircraft';
    row(dl, 'Kind', kindName(tr.kind));
    row(dl, isAir ? 'ICAO' : 'MMSI', tr.id);
    row(dl, 'Flag', tr.flag || '—');
    if (!isAir) row(dl, 'Type', shipTypeText(tr.ship_type) || '—');
    row(dl, 'Speed', fmtNum(tr.sog, 1, ' kn'));
    row(dl, 'Course', fmtNum(tr.cog, 0, '°'));
    if (num(tr.heading) !== null) row(dl, 'Heading', fmtNum(tr.heading, 0, '°'));
    if (isAir) row(dl, 'Altitude', fmtNum(tr.alt_ft, 0, ' ft'));
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
    row(dl, 'Kind', (ZONE_STYLE[props.kind] || ZONE_STYLE.custom).label);
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
    row(dl, 'Alert', String(alert.category || '').replace(/_/g, ' ') + ' · ' + fmtTime(alert._ms, true));
    box.appendChild(dl);
    box.appendChild(el('div', 'popup-sub', 'Not in the current picture: position as at the alert'));
    store.selected = null;
    popup = L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(box).openOn(map);
  }

  function openTrackPopup(key) {
    const tr = store.tracks.get(key);
    if (!tr) return;
    store.selected = key;
    popup = L.popup({ maxWidth: 360, autoPan: true, className: 'track-popup' })
      .setLatLng([tr.lat, tr.lon])
      .setContent(trackPopupContent(tr))
      .openOn(map);
    redrawTracks();
  }

  function refreshPopup() {
    if (!popup || !store.selected || !map.hasLayer(popup)) return;
    const tr = store.tracks.get(store.selected);
    if (!tr) {
      map.closePopup(popup);
      return;
    }
    popup.setLatLng([tr.lat, tr.lon]);
    popup.setContent(trackPopupContent(tr));
  }

  function hitTrack(containerPoint) {
    return tracksLayer ? tracksLayer.hit(containerPoint, 12) : null;
  }

  function onMapClick(e) {
    const key = hitTrack(e.containerPoint);
    const zone = pendingZone;
    pendingZone = null;
    if (key) {
      openTrackPopup(key);
    } else if (zone) {
      store.selected = null;
      popup = L.popup({ maxWidth: 320 }).setLatLng(e.latlng)
        .setContent(zonePopupContent(zone.feature.properties || {})).openOn(map);
    }
  }

  let hoverFrame = 0;
  let hoverPoint = null;
  function onMouseMove(e) {
    hoverPoint = e.containerPoint;
    if (hoverFrame) return;
    hoverFrame = L.Util.requestAnimFrame(function () {
      hoverFrame = 0;
      map.getContainer().classList.toggle('over-track', Boolean(hoverPoint && hitTrack(hoverPoint)));
    });
  }

  function flyToAlert(alert) {
    const t = alert.track || {};
    const key = trackKey(t.kind, t.id);
    const tr = store.tracks.get(key);
    const lat = tr ? tr.lat : num(t.lat);
    const lon = tr ? tr.lon : num(t.lon);
    if (lat === null || lon === null || lat === undefined) return;
    map.once('moveend', function () {
      if (store.tracks.has(key)) openTrackPopup(key);
      else openGonePopup(alert, [lat, lon]);
    });
    map.flyTo([lat, lon], Math.max(map.getZoom(), 9), { duration: 1.2 });
  }

  // ------------------------------------------------------------------ panel
  let panelDirty = false;
  let alertsDirty = false;

  function schedulePanel(alerts) {
    if (alerts) alertsDirty = true;
    if (panelDirty) return;
    panelDirty = true;
    window.requestAnimationFrame(renderPanel);
  }

  function renderPanel() {
    panelDirty = false;
    const counts = {};
    for (const k of vocab.kinds) counts[k] = 0;
    for (const tr of store.tracks.values()) counts[tr.kind] = (counts[tr.kind] || 0) + 1;
    for (const k of vocab.kinds) {
      const cell = $('count-' + k);
      if (cell) cell.textContent = String(counts[k]);
    }
    $('count-total').textContent = String(store.tracks.size);
    $('map').dataset.trackCount = String(store.tracks.size);
    if (alertsDirty) renderAlerts();
    renderFreshness();
  }

  function sortedAlerts() {
    const list = Array.from(store.alerts.values());
    list.sort((a, b) => (b._ms || 0) - (a._ms || 0));
    return list;
  }

  function renderAlerts() {
    alertsDirty = false;
    const list = sortedAlerts();
    const ol = $('alert-list');
    const items = [];
    for (const a of list.slice(0, MAX_ALERTS_SHOWN)) items.push(alertItem(a));
    ol.replaceChildren.apply(ol, items);
    const open = list.filter((a) => vocab.activeStatuses.includes(a.status)).length;
    $('alert-count').textContent = list.length + ' (' + open + ' open)';
    $('alert-empty').hidden = list.length > 0;
  }

  function alertItem(a) {
    const level = knownLevel(a.level);
    const li = el('li', 'alert lvl-' + level + ' status-' + String(a.status || 'open'));
    li.tabIndex = 0;
    li.dataset.alertId = String(a.id);
    const head = el('div', 'alert-head');
    head.appendChild(el('span', 'badge lvl-bg-' + level, level + ' ' + (num(a.score) ?? '')));
    head.appendChild(el('span', 'alert-cat', String(a.category || 'alert').replace(/_/g, ' ')));
    head.appendChild(el('span', 'alert-time', fmtTime(a._ms, false)));
    li.appendChild(head);
    const t = a.track || {};
    const who = el('div', 'alert-who');
    who.appendChild(el('span', 'alert-name', t.name || '(no name)'));
    who.appendChild(el('span', 'muted', ' ' + kindName(t.kind) + ' ' + (t.id || '')));
    li.appendChild(who);
    if (a.zone && a.zone.name) li.appendChild(el('div', 'alert-zone', 'Zone: ' + a.zone.name + (a.zone.state ? ' (' + a.zone.state + ')' : '')));
    const reasons = Array.isArray(a.reasons) ? a.reasons : [];
    if (reasons.length) li.appendChild(el('div', 'alert-reasons', reasons.slice(0, 3).join(' · ')));
    if (a.status && a.status !== 'open') li.appendChild(el('div', 'alert-status', a.status + (a.version ? ' · v' + a.version : '')));
    if (/^[0-9a-f]{8,40}$/.test(String(a.id))) {  // incident briefing (self-contained HTML) from the archive
      const brief = el('a', 'alert-brief', 'briefing');
      brief.href = '/api/alerts/' + a.id + '/brief';
      brief.download = 'brief-' + a.id + '.html';
      brief.addEventListener('click', (ev) => ev.stopPropagation());
      li.appendChild(brief);
    }
    const go = () => flyToAlert(a);
    li.addEventListener('click', go);
    li.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') go(); });
    return li;
  }

  function renderFreshness() {
    const box = $('freshness');
    const now = Date.now();
    $('clock').textContent = fmtTime(now, false);
    if (!Number.isFinite(store.lastDataMs)) {
      box.className = 'fresh-unknown';
      return;
    }
    const age = (now - store.lastDataMs) / 1000;
    // Event time running faster than this clock means a recording is being replayed (demo,
    // analyst replay): say so instead of calling an old but moving picture stale.
    const hist = store.pace;
    hist.push([now, store.lastDataMs]);
    while (hist.length > 2 && now - hist[0][0] > 60000) hist.shift();
    const dWall = now - hist[0][0];
    const pace = dWall >= 5000 ? (store.lastDataMs - hist[0][1]) / dWall : NaN;
    const replay = age > STALE_S && pace > 1.5;
    $('last-data').textContent = fmtTime(store.lastDataMs, true);
    $('last-data-age').textContent = age < -5 ? 'event time is ' + fmtAge(-age) + ' ahead of this clock'
      : replay ? 'REPLAY at ' + Math.round(pace) + 'x real time (data from ' + fmtAge(age) + ' ago)'
      : fmtAge(age) + ' ago' + (age > STALE_S ? ' — STALE PICTURE' : '');
    box.className = age <= FRESH_S ? 'fresh-ok' : (age <= STALE_S || replay) ? 'fresh-warn' : 'fresh-stale';
  }

  function renderFeeds() {
    const span = $('feed-list');
    const since = (Date.now() - store.feedsAt) / 1000;
    const chips = [];
    for (const f of store.feeds) {
      const age = num(f.last_msg_age_s);
      const liveAge = age === null ? null : age + (f.connected ? since : 0);
      const bad = !f.connected;
      const warn = !bad && (liveAge === null || liveAge > FRESH_S);
      const chip = el('span', 'feed ' + (bad ? 'feed-bad' : warn ? 'feed-warn' : 'feed-ok'));
      chip.appendChild(el('span', 'dot'));
      chip.appendChild(el('span', 'feed-name', f.name || '?'));
      chip.appendChild(el('span', 'muted', ' ' + [f.kind, f.transport].filter(Boolean).join('/')));
      chip.appendChild(el('span', null, ' ' + (f.connected ? 'up' : 'DOWN')));
      chip.appendChild(el('span', null, ' · ' + fmtNum(f.msgs_per_s, 1, ' msg/s')));
      chip.appendChild(el('span', null, ' · last ' + fmtAge(liveAge === null ? NaN : liveAge)));
      const rejects = f.rejects && typeof f.rejects === 'object' ? f.rejects : {};
      const total = Object.values(rejects).reduce((s, n) => s + (num(n) || 0), 0);
      const rej = el('span', total ? 'rejects' : null, ' · rejects ' + total);
      rej.title = Object.entries(rejects).map(([r, n]) => r + ': ' + n).join('\n') || 'no rejects';
      chip.appendChild(rej);
      chip.appendChild(el('span', null, ' · reconnects ' + (num(f.reconnects) ?? 0)));
      chips.push(chip);
    }
    if (!chips.length) chips.push(el('span', 'muted', 'no feeds reported'));
    span.replaceChildren.apply(span, chips);
  }

  // ------------------------------------------------------------------ data handling
  function acceptTrack(tr) {
    if (!tr || typeof tr.key !== 'string') {
      store.badMessages += 1;
      return false;
    }
    tr._ms = eventMs(tr.t);
    noteDataTime(tr._ms);
    store.tracks.set(tr.key, tr);
    return true;
  }

  function acceptAlert(a) {
    if (!a || a.id === undefined || a.id === null) {
      store.badMessages += 1;
      return;
    }
    a._ms = eventMs(a.time);
    noteDataTime(a._ms);
    store.alerts.set(String(a.id), a);
    if (store.alerts.size > 1000) {
      const oldest = sortedAlerts().slice(1000);
      for (const o of oldest) store.alerts.delete(String(o.id));
    }
  }

  function acceptFeeds(feeds) {
    if (!Array.isArray(feeds)) return;
    store.feeds = feeds;
    store.feedsAt = Date.now();
    renderFeeds();
  }

  // the service's readiness (the same report as GET /readyz and the MQTT health topic)
  function acceptHealth(h) {
    if (!h || typeof h !== 'object') return;
    store.health = h;
    const c = $('service-health');
    const reasons = Array.isArray(h.reasons) ? h.reasons.map(String) : [];
    c.className = 'conn ' + (h.ready ? 'conn-ok' : 'conn-bad');
    c.textContent = h.ready ? 'SERVICE READY' : 'SERVICE NOT READY · ' + reasons.join(', ').replace(/_/g, ' ');
    const details = [];
    for (const [name, ck] of Object.entries(h.checks || {})) {
      if (ck && !ck.ok) details.push(name + ': ' + String(ck.detail || ck.reason || 'failing'));
    }
    c.title = details.length ? details.join('\n') : 'all checks pass';
  }

  function onSnapshot(msg) {
    store.tracks.clear();
    store.alerts.clear();
    store.lastDataMs = NaN;
    store.pace = [];
    for (const tr of msg.tracks || []) acceptTrack(tr);
    for (const a of msg.alerts || []) acceptAlert(a);
    if (msg.feeds) acceptFeeds(msg.feeds);
    if (msg.health) acceptHealth(msg.health);
    redrawTracks();
    refreshPopup();
    schedulePanel(true);
  }

  function onTracks(msg) {
    for (const tr of msg.tracks || []) acceptTrack(tr);
    for (const key of msg.removed || []) store.tracks.delete(key);
    redrawTracks();
    refreshPopup();
    schedulePanel(false);
  }

  function onMessage(msg) {
    switch (msg && msg.type) {
      case 'snapshot': onSnapshot(msg); break;
      case 'tracks': onTracks(msg); break;
      case 'alert': acceptAlert(msg.alert); schedulePanel(true); break;
      case 'feeds': acceptFeeds(msg.feeds); break;
      case 'health': acceptHealth(msg.health); break;
      case 'heartbeat': break;
      default: store.badMessages += 1;
    }
  }

  // ------------------------------------------------------------------ websocket with backoff
  const link = { ws: null, attempt: 0, lastMsgAt: 0, retryAt: 0, timer: 0, connected: false };

  function setConn(cls, text) {
    const c = $('conn');
    c.className = 'conn ' + cls;
    c.textContent = text;
    document.body.classList.toggle('link-down', cls !== 'conn-ok');
  }

  function connect() {
    link.timer = 0;
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      scheduleReconnect();
      return;
    }
    link.ws = ws;
    // after a lost link (or a failed first try) the status stays LINK DOWN until the feed is LIVE
    // again: a watch officer must not read a retry as a fresh start
    if (link.attempt > 0) setConn('conn-bad', 'LINK DOWN · reconnecting');
    else setConn('conn-wait', 'CONNECTING');
    ws.onopen = function () {
      link.attempt = 0;
      link.connected = true;
      link.lastMsgAt = Date.now();
      setConn('conn-ok', 'LIVE');
    };
    ws.onmessage = function (ev) {
      link.lastMsgAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (err) {
        store.badMessages += 1;
        return;
      }
      onMessage(msg);
    };
    ws.onclose = function (ev) {
      if (link.ws !== ws) return;
      link.ws = null;
      link.connected = false;
      if (ev.code === 4401) { // the server closed it: no session (signed out or expired)
        window.location.assign('/login');
        return;
      }
      scheduleReconnect();
    };
    ws.onerror = function () { /* onclose follows and reconnects */ };
  }

  function scheduleReconnect() {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, link.attempt));
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    link.attempt += 1;
    link.retryAt = Date.now() + delay;
    if (!link.timer) link.timer = window.setTimeout(connect, delay);
  }

  function watchdog() {
    if (link.ws && link.connected && Date.now() - link.lastMsgAt > HEARTBEAT_TIMEOUT_MS) {
      link.ws.close(); // silent server: start over (onclose schedules the retry)
    }
    if (!link.connected && link.timer) {
      const s = Math.max(0, Math.ceil((link.retryAt - Date.now()) / 1000));
      setConn('conn-bad', 'LINK DOWN · retry in ' + s + ' s');
    }
  }

  function tick() {
    renderFreshness();
    if (store.feeds.length) renderFeeds();
    watchdog();
  }

  // ------------------------------------------------------------------ test / console hooks
  function expose() {
    window.mdaMap = {
      map: function () { return map; },
      trackCount: function () { return store.tracks.size; },
      drawnCount: function () { return tracksLayer ? tracksLayer.drawnCount() : 0; },
      alertCount: function () { return store.alerts.size; },
      connected: function () { return link.connected; },
      badMessages: function () { return store.badMessages; },
      health: function () { return store.health || null; },
      lastDrawMs: function () { return tracksLayer ? tracksLayer.lastDrawMs : 0; },
      screenPoint: function (key) {
        const tr = store.tracks.get(key);
        if (!tr || !map) return null;
        const p = map.latLngToContainerPoint([tr.lat, tr.lon]);
        return { x: p.x, y: p.y };
      },
      openTrack: openTrackPopup,
      vocabulary: function () { return vocab; },
      trackKey: trackKey,
    };
  }

  function start() {
    if (typeof L === 'undefined') {
      showBanner('Map library missing: run "npm ci --prefix web" on the server, then reload.');
      return;
    }
    loadVocabulary().then(function () {
      showBanner('');
      initMap();
      expose();
      connect();
      window.setInterval(tick, 1000);
      tick();
    }, function (err) {
      showBanner('Cannot load the vocabulary from the server (' + err.message + '); retrying in 5 s.');
      window.setTimeout(start, 5000);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
