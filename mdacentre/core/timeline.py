"""Each track's timeline of events: zone transits, gate crossings, port calls, gaps, identity changes.

Events are facts about a track, not alerts: they are archived and queried (``mdacentre history``,
``GET /api/tracks/{kind}/{id}/history``). An event becomes an alert only where a risk profile or
a detector says a person must look.

* Zone transits and gate crossings come from the fence transitions of the step.
* Port calls follow Global Fishing Watch's port-visit definition: a vessel *enters* a port when it
  comes within ``port_enter_m`` (3 km) of it, *stops* there when its speed falls under
  ``port_stop_kn`` (0.2 kn) - the port call (``port_arrival``) - and *leaves* when it is more than
  ``port_exit_m`` (4 km) away (``port_departure``, with the call's duration). The latest arrival is
  the vessel's last port of call.
* A gap is a silence of at least ``gap_s`` between two positions of one track (``duration_s``).
* Identity changes: name, call sign, IMO, ship type, destination and draught of one MMSI, each
  with the time of the report that changed it; and flag (MID) when one IMO number moves to an MMSI
  of another flag state (re-flagging gives a ship a new MMSI).

Everything runs on the step's columns; only the rare candidates (positions near a port, changed
fields) reach Python code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from mdacentre.core.fences import Transition
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.model.batch import TrackKind, take_rows
from mdacentre.model.geodesy import haversine_m
from mdacentre.model.imo import valid_imo
from mdacentre.model.mid import flag_states

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class EventKind(StrEnum):
    ZONE_ENTER = "zone_enter"
    ZONE_EXIT = "zone_exit"
    GATE_CROSSING = "gate_crossing"
    PORT_ARRIVAL = "port_arrival"
    PORT_DEPARTURE = "port_departure"
    GAP = "gap"
    IDENTITY_CHANGE = "identity_change"


EVENT_COLUMNS = ("key", "t", "event", "zone", "field", "old", "new", "duration_s", "initial", "lat", "lon")
IDENTITY_FIELDS = ("name", "callsign", "imo", "ship_type", "destination", "draught_m")


@dataclass(frozen=True)
class TimelineConfig:
    port_enter_m: float = 3000.0
    port_exit_m: float = 4000.0
    port_stop_kn: float = 0.2
    gap_s: float = 2 * 3600.0
    draught_step_m: float = 0.05  # smaller draught differences are rounding, not a change


def empty_events(n: int = 0) -> dict[str, np.ndarray]:
    return {
        "key": np.zeros(n, np.int64),
        "t": np.full(n, np.nan),
        "event": np.full(n, "", dtype=object),
        "zone": np.full(n, None, dtype=object),
        "field": np.full(n, None, dtype=object),
        "old": np.full(n, None, dtype=object),
        "new": np.full(n, None, dtype=object),
        "duration_s": np.full(n, np.nan),
        "initial": np.zeros(n, bool),
        "lat": np.full(n, np.nan),
        "lon": np.full(n, np.nan),
    }


def concat_events(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = [p for p in parts if len(p["key"])]
    if not parts:
        return empty_events()
    return {c: np.concatenate([p[c] for p in parts]) for c in EVENT_COLUMNS}


@dataclass
class _PortVisit:
    port: int
    entered: float
    stopped_at: float = float("nan")


@dataclass
class _KeyedMemory:
    """Per-key columns kept in key order (vectorised lookup with searchsorted)."""

    spec: dict[str, tuple[str, Any]]
    keys: IntArray = field(default_factory=lambda: np.empty(0, np.int64))
    cols: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cols = {n: np.empty(0, dtype=dt) for n, (dt, _f) in self.spec.items()}

    def lookup(self, keys: IntArray) -> IntArray:
        if len(self.keys) == 0:
            return np.full(len(keys), -1, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, pos, -1)

    def ensure(self, keys: IntArray) -> IntArray:
        """Indices of ``keys`` (unique), inserting missing ones with fill values."""
        idx = self.lookup(keys)
        missing = np.unique(keys[idx < 0])
        if len(missing):
            allk = np.concatenate([self.keys, missing])
            order = np.argsort(allk, kind="stable")
            self.keys = allk[order]
            for n, (dt, fill) in self.spec.items():
                self.cols[n] = np.concatenate([self.cols[n], np.full(len(missing), fill, dtype=dt)])[order]
            idx = self.lookup(keys)
        return idx

    def forget(self, keys: IntArray) -> None:
        keep = ~np.isin(self.keys, keys)
        self.keys = self.keys[keep]
        for n in self.cols:
            self.cols[n] = self.cols[n][keep]


def _group_starts(keys: IntArray) -> npt.NDArray[np.bool_]:
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return first


class TimelineTracker:
    """Derives the events of each step from the batch, the fence transitions and its own memory."""

    def __init__(self, zones: list[Zone], config: TimelineConfig | None = None) -> None:
        self.cfg = config or TimelineConfig()
        self.zones = zones
        self.zone_ids = np.asarray([z.id for z in zones] or [""], dtype=object)
        self.is_gate = np.asarray([z.kind == ZoneKind.TRANSIT_GATE for z in zones] or [False])
        ports: list[tuple[int, float, float]] = []
        for i, z in enumerate(zones):
            if z.kind != ZoneKind.PORT_APPROACH:
                continue
            c = z.attrs.get("center")
            if isinstance(c, (list, tuple)) and len(c) == 2:
                ports.append((i, float(c[0]), float(c[1])))
            else:  # a user's port zone without the World Port Index position: its centre
                p = z.geometry.representative_point()
                ports.append((i, float(p.x), float(p.y)))
        self.port_zone = np.asarray([p[0] for p in ports], dtype=np.int64)
        self.port_lon = np.asarray([p[1] for p in ports], dtype=np.float64)
        self.port_lat = np.asarray([p[2] for p in ports], dtype=np.float64)
        self._cell = 0.1
        cells: set[int] = set()
        for lon, lat in zip(self.port_lon.tolist(), self.port_lat.tolist(), strict=True):
            cx, cy = int(np.floor(lon / self._cell)), int(np.floor(lat / self._cell))
            cells.update((cx + dx) * 100_000 + (cy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1))
        self._port_cells = np.asarray(sorted(cells), dtype=np.int64)
        self.visits: dict[int, _PortVisit] = {}
        self.last_port_of_call: dict[int, tuple[str, float]] = {}
        self.last_fix = _KeyedMemory({"t": ("f8", np.nan), "lat": ("f8", np.nan), "lon": ("f8", np.nan)})
        spec: dict[str, tuple[str, Any]] = {
            "name": ("<U20", ""),
            "callsign": ("<U7", ""),
            "imo": ("<u4", 0),
            "ship_type": ("<i2", -1),
            "destination": ("<U20", ""),
            "draught_m": ("<f4", np.nan),
        }
        self.identity = _KeyedMemory(spec)
        self.imo_owner: dict[int, int] = {}

    # -- the step -------------------------------------------------------------------------------
    def step(
        self,
        positions: npt.NDArray[np.void],
        statics: npt.NDArray[np.void],
        fence_events: npt.NDArray[np.void],
    ) -> dict[str, np.ndarray]:
        """Events of one step (columns of :data:`EVENT_COLUMNS`), in no particular order."""
        ok = np.isfinite(positions["lat"]) & np.isfinite(positions["lon"]) & np.isfinite(positions["t"])
        pos = take_rows(positions, ok)
        pos = take_rows(pos, np.lexsort((pos["t"], pos["key"])))
        parts = [self._zones(fence_events), self._gaps(pos), self._ports(pos)]
        if len(statics):
            st = take_rows(statics, np.lexsort((statics["t"], statics["key"])))
            parts.append(self._identity(st))
        return concat_events(parts)

    def _zones(self, ev: npt.NDArray[np.void]) -> dict[str, np.ndarray]:
        n = len(ev)
        out = empty_events(n)
        if n == 0:
            return out
        zi = ev["zone"].astype(np.int64)
        enter = ev["transition"] == int(Transition.ENTER)
        out["key"] = ev["key"].astype(np.int64)
        out["t"] = ev["t"].astype(np.float64)
        out["event"] = np.where(
            enter,
            np.where(self.is_gate[zi], EventKind.GATE_CROSSING.value, EventKind.ZONE_ENTER.value),
            EventKind.ZONE_EXIT.value,
        ).astype(object)
        out["zone"] = self.zone_ids[zi]
        out["initial"] = ev["initial"].astype(bool)
        out["lat"] = ev["lat"].astype(np.float64)
        out["lon"] = ev["lon"].astype(np.float64)
        return out

    def _gaps(self, pos: npt.NDArray[np.void]) -> dict[str, np.ndarray]:
        n = len(pos)
        if n == 0:
            return empty_events()
        keys = pos["key"].astype(np.int64)
        t = pos["t"].astype(np.float64)
        first = _group_starts(keys)
        prev = np.empty(n)
        prev[1:] = t[:-1]
        fi = np.flatnonzero(first)
        mi = self.last_fix.ensure(keys[fi])
        prev[fi] = self.last_fix.cols["t"][mi]
        dt = t - prev
        gap = np.flatnonzero(np.isfinite(dt) & (dt >= self.cfg.gap_s))
        last = np.append(fi[1:], n) - 1
        newer = ~(t[last] < self.last_fix.cols["t"][mi])  # NaN (first fix) counts as older
        mi_new, li = mi[newer], last[newer]
        self.last_fix.cols["t"][mi_new] = t[li]
        self.last_fix.cols["lat"][mi_new] = pos["lat"][li]
        self.last_fix.cols["lon"][mi_new] = pos["lon"][li]
        out = empty_events(len(gap))
        if len(gap):
            out["key"] = keys[gap]
            out["t"] = t[gap]
            out["event"][:] = EventKind.GAP.value
            out["duration_s"] = dt[gap]
            out["lat"] = pos["lat"][gap].astype(np.float64)
            out["lon"] = pos["lon"][gap].astype(np.float64)
        return out

    def _nearest_port(self, lon: FloatArray, lat: FloatArray) -> tuple[IntArray, FloatArray]:
        """Index (into the port arrays) and distance in metres of the nearest port, for few points."""
        if len(lon) == 0 or len(self.port_lon) == 0:
            return np.full(len(lon), -1, np.int64), np.full(len(lon), np.inf)
        d = haversine_m(lat[:, None], lon[:, None], self.port_lat[None, :], self.port_lon[None, :])
        j = np.argmin(d, axis=1)
        return j.astype(np.int64), d[np.arange(len(lon)), j]

    def _ports(self, pos: npt.NDArray[np.void]) -> dict[str, np.ndarray]:
        if len(pos) == 0 or len(self.port_lon) == 0:
            return empty_events()
        lon, lat = pos["lon"].astype(np.float64), pos["lat"].astype(np.float64)
        cell = np.floor(lon / self._cell).astype(np.int64) * 100_000 + np.floor(lat / self._cell).astype(
            np.int64
        )
        vessel = pos["kind"] == int(TrackKind.VESSEL)
        pc = self._port_cells
        at = np.minimum(np.searchsorted(pc, cell), len(pc) - 1)
        cand = vessel & (pc[at] == cell)
        if self.visits:
            cand |= np.isin(pos["key"], np.fromiter(self.visits, dtype=np.int64))
        idx = np.flatnonzero(cand)
        if len(idx) == 0:
            return empty_events()
        near, dist = self._nearest_port(lon[idx], lat[idx])
        rows: list[tuple[int, float, str, str, float, float, float]] = []
        cfg = self.cfg
        for j, i in enumerate(idx.tolist()):
            key, t = int(pos["key"][i]), float(pos["t"][i])
            sog = float(pos["sog"][i])
            v = self.visits.get(key)
            if v is None:
                if dist[j] <= cfg.port_enter_m:
                    v = self.visits[key] = _PortVisit(int(near[j]), t)
                else:
                    continue
            p = v.port
            d = (
                float(dist[j])
                if int(near[j]) == p
                else float(haversine_m(lat[i], lon[i], self.port_lat[p], self.port_lon[p]))
            )
            zone_id = str(self.zone_ids[self.port_zone[p]])
            if d > cfg.port_exit_m:
                if np.isfinite(v.stopped_at):
                    rows.append(
                        (key, t, EventKind.PORT_DEPARTURE.value, zone_id, t - v.stopped_at, lat[i], lon[i])
                    )
                del self.visits[key]
                if dist[j] <= cfg.port_enter_m:  # straight into the next port's circle
                    self.visits[key] = _PortVisit(int(near[j]), t)
                continue
            if not np.isfinite(v.stopped_at) and np.isfinite(sog) and sog < cfg.port_stop_kn:
                v.stopped_at = t
                self.last_port_of_call[key] = (zone_id, t)
                rows.append((key, t, EventKind.PORT_ARRIVAL.value, zone_id, float("nan"), lat[i], lon[i]))
        out = empty_events(len(rows))
        for c, name in enumerate(("key", "t", "event", "zone", "duration_s", "lat", "lon")):
            if rows:
                out[name] = np.asarray([r[c] for r in rows], dtype=out[name].dtype)
        return out

    def _identity(self, st: npt.NDArray[np.void]) -> dict[str, np.ndarray]:
        """Changes of identity fields within the batch and against the last known values."""
        n = len(st)
        keys = st["key"].astype(np.int64)
        first = _group_starts(keys)
        fi = np.flatnonzero(first)
        starts = np.repeat(fi, np.diff(np.append(fi, n)))
        last = np.append(fi[1:], n) - 1
        mi = self.identity.ensure(keys[fi])
        mrow = np.repeat(mi, np.diff(np.append(fi, n)))
        ar = np.arange(n)
        found: list[tuple[np.ndarray, str, np.ndarray, np.ndarray]] = []
        for name in IDENTITY_FIELDS:
            v = st[name]
            mem = self.identity.cols[name]
            if v.dtype.kind == "f":
                known = np.isfinite(v)
            elif v.dtype.kind == "U":
                known = v != ""
            elif name == "ship_type":
                known = v >= 0
            else:
                known = v > 0
            lk = np.maximum.accumulate(np.where(known, ar, -1))
            prev_lk = np.empty(n, np.int64)
            prev_lk[0] = -1
            prev_lk[1:] = lk[:-1]
            in_batch = prev_lk >= starts
            prev_val = np.where(in_batch, v[np.maximum(prev_lk, 0)], mem[mrow])
            if v.dtype.kind == "f":
                has_prev = np.isfinite(prev_val)
                changed = known & has_prev & (np.abs(v - prev_val) > self.cfg.draught_step_m)
            elif v.dtype.kind == "U":
                has_prev = prev_val != ""
                changed = known & has_prev & (v != prev_val)
            else:
                has_prev = prev_val > (0 if name == "imo" else -1)
                changed = known & has_prev & (v != prev_val)
            sel = np.flatnonzero(changed)
            if len(sel):
                found.append((sel, name, prev_val[sel], v[sel]))
            end_lk = lk[last]
            upd = end_lk >= fi
            mem[mi[upd]] = v[end_lk[upd]]
        parts = [self._changes(keys, st["t"], sel, name, old, new) for sel, name, old, new in found]
        parts.append(self._flag_changes(st))
        return concat_events(parts)

    def _changes(
        self,
        keys: IntArray,
        t: FloatArray,
        sel: IntArray,
        name: str,
        old: np.ndarray,
        new: np.ndarray,
    ) -> dict[str, np.ndarray]:
        out = empty_events(len(sel))
        out["key"] = keys[sel]
        out["t"] = t[sel].astype(np.float64)
        out["event"][:] = EventKind.IDENTITY_CHANGE.value
        out["field"][:] = name
        out["old"] = np.asarray([_text(x) for x in old.tolist()], dtype=object)
        out["new"] = np.asarray([_text(x) for x in new.tolist()], dtype=object)
        self._place(out)
        return out

    def _place(self, out: dict[str, np.ndarray]) -> None:
        """Latest known position of each event's track (identity events carry none of their own)."""
        if len(out["key"]) == 0:
            return
        mi = self.last_fix.lookup(out["key"])
        ok = mi >= 0
        out["lat"][ok] = self.last_fix.cols["lat"][mi[ok]]
        out["lon"][ok] = self.last_fix.cols["lon"][mi[ok]]

    def _flag_changes(self, st: npt.NDArray[np.void]) -> dict[str, np.ndarray]:
        """One IMO seen under an MMSI of another flag state than before."""
        m = valid_imo(st["imo"]) & (st["kind"] == int(TrackKind.VESSEL))
        if not m.any():
            return empty_events()
        imo, keys, t = st["imo"][m].astype(np.int64), st["key"][m].astype(np.int64), st["t"][m]
        # one row per (IMO, MMSI) pair of the batch (its latest report), in time order
        order = np.lexsort((t, keys, imo))
        imo, keys, t = imo[order], keys[order], t[order]
        last = np.ones(len(imo), dtype=bool)
        last[:-1] = (imo[1:] != imo[:-1]) | (keys[1:] != keys[:-1])
        sel = np.flatnonzero(last)
        sel = sel[np.argsort(t[sel], kind="stable")]
        rows: list[tuple[int, float, str, str]] = []
        for i, key, tk in zip(imo[sel].tolist(), keys[sel].tolist(), t[sel].tolist(), strict=True):
            owner = self.imo_owner.get(i)
            if owner == key:
                continue
            self.imo_owner[i] = key
            if owner is None:
                continue
            flags = flag_states(np.asarray([owner & 0xFFFFFFFF, key & 0xFFFFFFFF], dtype=np.int64))
            if str(flags[0]) != str(flags[1]):
                rows.append((key, float(tk), str(flags[0]) or "?", str(flags[1]) or "?"))
        out = empty_events(len(rows))
        if rows:
            out["key"] = np.asarray([r[0] for r in rows], np.int64)
            out["t"] = np.asarray([r[1] for r in rows])
            out["event"][:] = EventKind.IDENTITY_CHANGE.value
            out["field"][:] = "flag"
            out["old"] = np.asarray([r[2] for r in rows], dtype=object)
            out["new"] = np.asarray([r[3] for r in rows], dtype=object)
            self._place(out)
        return out

    def forget(self, keys: set[int]) -> None:
        """Tracks evicted from the table: drop their gap and port memory (identity memory stays)."""
        if not keys:
            return
        arr = np.fromiter(keys, dtype=np.int64)
        self.last_fix.forget(arr)
        for k in keys:
            self.visits.pop(k, None)


def _text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)
