"""The figures of a period report, computed from the archive with DuckDB.

Every figure is a plain JSON value (sorted lists, rounded floats, ISO 8601 UTC times) so that the
same archive, window and filters always give byte-identical ``figures.json``. Definitions are in
docs/reports.md.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from mdacentre.alerting.routing import Router
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.model.errors import MdaError
from mdacentre.risk.conditions import WatchList, load_watchlist
from mdacentre.risk.profiles import hazardous_mask
from mdacentre.sinks.archive.query import History

SCHEMA = "mdacentre.report/1"
GOING_DARK = ("ais_gap",)
ENCOUNTERS = ("encounter", "close_rendezvous")
TOP_TRACKS = 10
COVERAGE_GAP_S = 600.0  # a feed silent this long inside the covered span is a coverage gap


class ReportError(MdaError):
    """A report that cannot be made (bad window, unknown agency or state)."""


@dataclass(frozen=True)
class Scope:
    """What a report covers: an event-time window and optional state / agency filters."""

    t0: float
    t1: float
    state: str | None = None
    agency: str | None = None
    states: frozenset[str] | None = None  # the zones' owner states in scope (None: all)

    def label(self) -> dict[str, Any]:
        return {"from": iso(self.t0), "to": iso(self.t1), "state": self.state, "agency": self.agency}


@dataclass
class Inputs:
    """Everything besides the archive that a report reads (all from the operator folders)."""

    zones: list[Zone]
    router: Router
    watchlists: list[WatchList] = field(default_factory=list)


def iso(t: float | None) -> str | None:
    if t is None or not math.isfinite(t):
        return None
    return datetime.fromtimestamp(math.floor(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _r(v: Any, nd: int = 1) -> float | None:
    if v is None:
        return None
    f = float(v)
    return round(f, nd) if math.isfinite(f) else None


def load_watchlists(folder: Path) -> list[WatchList]:
    return [load_watchlist(p) for p in sorted(folder.glob("*.csv"))] if folder.is_dir() else []


def make_scope(t0: float, t1: float, state: str | None, agency: str | None, router: Router) -> Scope:
    if t1 <= t0:
        raise ReportError("--to must be after --from")
    states: frozenset[str] | None = None
    if state is not None:
        if len(state) != 2 or not state.isalpha():
            raise ReportError(f"--state {state!r} must be an ISO 3166 alpha-2 code (or XX)")
        state = state.upper()
        states = frozenset({state})
    if agency is not None:
        a = router.agency(agency)  # raises ConfigError naming the known agencies
        states = frozenset(a.states) if states is None else states & frozenset(a.states)
    return Scope(t0, t1, state, agency, states)


# -- alerts -----------------------------------------------------------------------------------------


def alert_rows(h: History, scope: Scope, router: Router) -> list[dict[str, Any]]:
    """One row per alert (situation) that started in the window: its first version's category, state,
    position and payload, and its gravest version's level, score and reasons."""
    tbl = h.sql(
        "SELECT id, version, status, category, level, score, epoch(started) AS started, epoch(t) AS t, "
        "state, zone, kind, track_id, key, name, reasons, payload, lat, lon FROM alerts "
        "WHERE started >= to_timestamp(?) AND started <= to_timestamp(?) ORDER BY id, version",
        [scope.t0, scope.t1],
    ).to_pylist()
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in tbl:
        by_id[r["id"]].append(r)
    out = []
    for aid in sorted(by_id):
        versions = by_id[aid]
        first = versions[0]
        grave = max(versions, key=lambda r: (float(r["score"] or 0.0), -int(r["version"])))
        payload = orjson.loads(first["payload"]) if first["payload"] else {}
        row = {
            "id": aid,
            "category": first["category"],
            "state": first["state"],
            "zone": first["zone"],
            "kind": first["kind"],
            "track_id": first["track_id"],
            "key": int(first["key"]),
            "name": next((v["name"] for v in reversed(versions) if v["name"]), "") or "",
            "started": float(first["started"]),
            "level": grave["level"],
            "score": float(grave["score"] or 0.0),
            "reasons": list(grave["reasons"] or []),
            "lat": first["lat"],
            "lon": first["lon"],
            "agencies": router.route(payload) if payload else [],
            "versions": len(versions),
        }
        if scope.state is not None and row["state"] != scope.state:
            continue
        if scope.agency is not None and scope.agency not in row["agencies"]:
            continue
        out.append(row)
    return out


def _counts(rows: Sequence[dict[str, Any]], key: str) -> dict[str, int]:
    c = Counter(str(r[key]) for r in rows)
    return {k: c[k] for k in sorted(c)}


def alert_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    months = Counter(iso(r["started"])[:7] for r in rows)  # type: ignore[index]
    return {
        "total": len(rows),
        "by_category": _counts(rows, "category"),
        "by_level": _counts(rows, "level"),
        "by_state": _counts(rows, "state"),
        "by_month": {k: months[k] for k in sorted(months)},
        "by_category_level": {
            c: _counts([r for r in rows if r["category"] == c], "level")
            for c in sorted({r["category"] for r in rows})
        },
    }


# -- transits of hazardous and watch-listed ships ----------------------------------------------------


def _flagged_ships(h: History, scope: Scope, watchlists: Sequence[WatchList]) -> dict[int, dict[str, Any]]:
    """Vessels with a hazardous ship type / IMDG class, or on a watch-list, in their static reports up to
    the end of the window: key -> name, MMSI, why."""
    st = h.sql(
        "SELECT key, ident, name, imo, callsign, ship_type, imdg_class FROM statics "
        "WHERE kind = 'vessel' AND t <= to_timestamp(?) ORDER BY key, t",
        [scope.t1],
    )
    if st.num_rows == 0:
        return {}
    keys = st.column("key").to_numpy()
    ship_type = st.column("ship_type").to_numpy(zero_copy_only=False).astype(np.int16)
    imdg = st.column("imdg_class").to_numpy(zero_copy_only=False).astype(np.float32)
    haz = hazardous_mask(ship_type, imdg)
    names = st.column("name").to_pylist()
    imos = st.column("imo").to_pylist()
    calls = st.column("callsign").to_pylist()
    idents = st.column("ident").to_pylist()
    out: dict[int, dict[str, Any]] = {}
    for i, k in enumerate(keys.tolist()):
        d = out.setdefault(k, {"mmsi": int(idents[i]), "name": "", "why": set()})
        if names[i]:
            d["name"] = names[i].strip()
        if haz[i]:
            t = int(ship_type[i])
            d["why"].add(
                f"IMDG class {imdg[i]:g}" if math.isfinite(float(imdg[i])) else f"hazardous ship type {t}"
            )
        for wl in watchlists:
            label = _watch_label(wl, int(idents[i]), int(imos[i] or 0), names[i] or "", calls[i] or "")
            if label:
                d["why"].add(f"watch-list: {label}")
    return {k: {**v, "why": sorted(v["why"])} for k, v in out.items() if v["why"]}


def _watch_label(wl: WatchList, mmsi: int, imo: int, name: str, call: str) -> str | None:
    from mdacentre.risk.conditions import normalise_names

    keys = [f"mmsi:{mmsi}", f"imo:{imo}"]
    if name:
        keys.append(f"name:{normalise_names([name])[0]}")
    if call:
        keys.append(f"callsign:{normalise_names([call])[0]}")
    return next((wl.labels[k] for k in keys if k in wl.labels), None)


def transit_figures(h: History, scope: Scope, inputs: Inputs) -> dict[str, Any]:
    ships = _flagged_ships(h, scope, inputs.watchlists)
    zones = {z.id: z for z in inputs.zones}
    w, p = h._window(scope.t0, scope.t1)
    ev = h.sql(
        f"SELECT key, event, zone, epoch(t) AS t, lat, lon, initial FROM events WHERE kind = 'vessel' "
        f"AND event IN ('gate_crossing', 'zone_enter') AND {w} ORDER BY t, key, zone",
        p,
    ).to_pylist()
    passages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    eezs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in ev:
        ship = ships.get(int(e["key"]))
        z = zones.get(e["zone"])
        if ship is None or z is None:
            continue
        if scope.states is not None and z.state not in scope.states:
            continue
        if e["event"] == "gate_crossing" and z.kind == ZoneKind.TRANSIT_GATE:
            target = passages
        elif e["event"] == "zone_enter" and z.kind == ZoneKind.EEZ:
            target = eezs
        else:
            continue
        target[z.id].append(
            {
                "name": ship["name"],
                "mmsi": ship["mmsi"],
                "time": iso(e["t"]),
                "why": ship["why"],
                "lat": _r(e["lat"], 4),
                "lon": _r(e["lon"], 4),
                "initial": bool(e["initial"]),
            }
        )

    def table(groups: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        return [
            {
                "zone": zid,
                "name": zones[zid].name,
                "state": zones[zid].state,
                "transits": len(groups[zid]),
                "ships": groups[zid],
            }
            for zid in sorted(groups)
        ]

    flagged = [
        {"mmsi": s["mmsi"], "name": s["name"], "why": s["why"]}
        for s in sorted(ships.values(), key=lambda s: s["mmsi"])
    ]
    return {"flagged_ships": flagged, "by_passage": table(passages), "by_eez": table(eezs)}


# -- going dark and encounters ----------------------------------------------------------------------


def incident_figures(h: History, scope: Scope, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def points(cats: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {
                "id": r["id"],
                "category": r["category"],
                "track_id": r["track_id"],
                "name": r["name"],
                "time": iso(r["started"]),
                "lat": _r(r["lat"], 4),
                "lon": _r(r["lon"], 4),
                "level": r["level"],
            }
            for r in sorted(rows, key=lambda r: (r["started"], r["id"]))
            if r["category"] in cats
        ]

    w, p = h._window(scope.t0, scope.t1)
    gaps = h.sql(
        f"SELECT track_id, epoch(t) AS t, duration_s, lat, lon FROM events WHERE event = 'gap' AND {w} "
        "ORDER BY t, track_id",
        p,
    ).to_pylist()
    return {
        "going_dark": points(GOING_DARK),
        "encounters": points(ENCOUNTERS),
        "timeline_gaps": [
            {
                "track_id": g["track_id"],
                "time": iso(g["t"]),
                "hours": _r((g["duration_s"] or 0.0) / 3600.0, 2),
                "lat": _r(g["lat"], 4),
                "lon": _r(g["lon"], 4),
            }
            for g in gaps
        ],
    }


# -- response indicators ------------------------------------------------------------------------------


def _ack_time(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def response_figures(h: History, rows: Sequence[dict[str, Any]], router: Router) -> dict[str, Any]:
    """Per agency: the alerts routed to it, time from the alert's start to the agency's first
    acknowledgement (median, 90th percentile), and the alerts it never acknowledged. The watch floor
    (acknowledgements over REST, ``watch/...``) is reported as ``watch`` over every alert."""
    ids = [r["id"] for r in rows]
    acks = h.sql(
        "SELECT id, status, ack_by, ack_at FROM acks WHERE status = 'acknowledged' AND id IN "
        "(SELECT unnest(?::VARCHAR[])) ORDER BY id, ack_at",
        [ids],
    ).to_pylist()
    first: dict[tuple[str, str], float] = {}
    for a in acks:
        who = str(a["ack_by"]).split("/", 1)[0]
        t = _ack_time(str(a["ack_at"]))
        if t is not None and (a["id"], who) not in first:
            first[(a["id"], who)] = t
    agencies = sorted(router.agencies) + ["watch"]
    out = []
    for ag in agencies:
        mine = rows if ag == "watch" else [r for r in rows if ag in r["agencies"]]
        delays = [first[(r["id"], ag)] - r["started"] for r in mine if (r["id"], ag) in first]
        never = sorted((r for r in mine if (r["id"], ag) not in first), key=lambda r: (r["started"], r["id"]))
        if not mine:
            continue
        arr = np.asarray(delays, dtype=np.float64)
        out.append(
            {
                "agency": ag,
                "name": "watch floor (REST)" if ag == "watch" else router.agencies[ag].name,
                "alerts": len(mine),
                "acknowledged": len(delays),
                "median_s": _r(np.median(arr)) if len(arr) else None,
                "p90_s": _r(np.percentile(arr, 90)) if len(arr) else None,
                "never_acknowledged": len(never),
                "never": [
                    {"id": r["id"], "category": r["category"], "level": r["level"], "time": iso(r["started"])}
                    for r in never
                ],
            }
        )
    return {"agencies": out}


# -- gravity ---------------------------------------------------------------------------------------------


def top_tracks(rows: Sequence[dict[str, Any]], n: int = TOP_TRACKS) -> list[dict[str, Any]]:
    best: dict[int, dict[str, Any]] = {}
    cats: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        cats[r["key"]].add(r["category"])
        b = best.get(r["key"])
        if b is None or (r["score"], -r["started"]) > (b["score"], -b["started"]):
            best[r["key"]] = r
    ranked = sorted(best.values(), key=lambda r: (-r["score"], r["started"], r["key"]))[:n]
    return [
        {
            "kind": r["kind"],
            "track_id": r["track_id"],
            "name": r["name"],
            "score": _r(r["score"]),
            "level": r["level"],
            "alert": r["id"],
            "categories": sorted(cats[r["key"]]),
            "reasons": r["reasons"],
        }
        for r in ranked
    ]


# -- data coverage ----------------------------------------------------------------------------------------


def coverage_figures(h: History, scope: Scope) -> dict[str, Any]:
    """Messages per day and per feed, and per feed: uptime (share of minutes with a message inside the
    span the archive covers in the window) and coverage gaps (silences of at least COVERAGE_GAP_S)."""
    w, p = h._window(scope.t0, scope.t1)
    per_min = h.sql(
        f"SELECT feed, CAST(floor(epoch(t) / 60) AS BIGINT) AS m, count(*) AS n FROM "
        f"(SELECT feed, t, day FROM positions WHERE {w} UNION ALL SELECT feed, t, day FROM statics WHERE {w}) "
        "GROUP BY ALL ORDER BY feed, m",
        p + p,
    )
    days = h.sql(
        f"SELECT CAST(day AS VARCHAR) AS day, sum(n) AS n FROM (SELECT day, count(*) AS n FROM positions "
        f"WHERE {w} GROUP BY day UNION ALL SELECT day, count(*) AS n FROM statics WHERE {w} GROUP BY day) "
        "GROUP BY day ORDER BY day",
        p + p,
    ).to_pylist()
    feeds = per_min.column("feed").to_numpy(zero_copy_only=False) if per_min.num_rows else np.empty(0)
    mins = per_min.column("m").to_numpy(zero_copy_only=False) if per_min.num_rows else np.empty(0)
    counts = per_min.column("n").to_numpy(zero_copy_only=False) if per_min.num_rows else np.empty(0)
    out_feeds = []
    if len(mins):
        m0, m1 = int(mins.min()), int(mins.max())
        span = m1 - m0 + 1
        for f in sorted(set(feeds.tolist())):
            sel = feeds == f
            fm = np.unique(mins[sel].astype(np.int64))
            edges = np.concatenate([[m0 - 1], fm, [m1 + 1]])
            silent = np.diff(edges) - 1  # whole minutes without a message between covered minutes
            gaps = [
                {
                    "from": iso((int(edges[i]) + 1) * 60.0),
                    "to": iso(int(edges[i + 1]) * 60.0),
                    "minutes": int(s),
                }
                for i, s in enumerate(silent.tolist())
                if s * 60 >= COVERAGE_GAP_S
            ]
            out_feeds.append(
                {
                    "feed": int(f),
                    "messages": int(counts[sel].sum()),
                    "minutes_with_data": len(fm),
                    "uptime_pct": _r(100.0 * len(fm) / span, 2),
                    "gaps": gaps,
                }
            )
        covered = {"from": iso(m0 * 60.0), "to": iso((m1 + 1) * 60.0), "minutes": span}
    else:
        covered = {"from": None, "to": None, "minutes": 0}
    return {
        "covered": covered,
        "messages_per_day": {d["day"]: int(d["n"]) for d in days},
        "feeds": out_feeds,
        "gap_threshold_s": COVERAGE_GAP_S,
    }


def compute(h: History, scope: Scope, inputs: Inputs) -> dict[str, Any]:
    """Every figure of the report, as one JSON-ready dict (key order fixed, lists sorted)."""
    rows = alert_rows(h, scope, inputs.router)
    return {
        "schema": SCHEMA,
        "scope": scope.label(),
        "alerts": alert_figures(rows),
        "transits": transit_figures(h, scope, inputs),
        "incidents": incident_figures(h, scope, rows),
        "response": response_figures(h, rows, inputs.router),
        "top_tracks": top_tracks(rows),
        "coverage": coverage_figures(h, scope),
    }


def dumps(figures: dict[str, Any]) -> bytes:
    return orjson.dumps(figures, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


__all__ = ["Inputs", "ReportError", "Scope", "compute", "dumps", "load_watchlists", "make_scope"]
