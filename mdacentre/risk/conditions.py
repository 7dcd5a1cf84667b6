"""Extra profile conditions on track-table columns: watch-lists, flag states, size, navigational status, night.

Meant for ``[profile.when]`` tables of the profiles file (risk.py evaluates them)::

    [profile.when]
    kind = ["vessel"]
    watchlist = ["watchlists/inf_ships.csv"]   # relative to the profiles file
    exclude_watchlist = ["watchlists/authorised.csv"]  # "not one of these authorised vessels"
    flag = ["KP", "IR"]                       # flag state from the MMSI's MID (ISO alpha-2)
    exclude_flag = ["JM"]
    min_length_m = 100
    max_length_m = 400
    nav_status = [0, 8]                       # AIS navigational status codes
    night = true                              # sun below the horizon at the track's position

Every condition is a NumPy mask over the rows a batch touched (no per-track Python work).
Single calls raise :class:`~mdacentre.model.errors.ConfigError` with a message that says what to fix.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mdacentre.core.tracks import TrackTable
from mdacentre.model.batch import TrackKind
from mdacentre.model.errors import ConfigError
from mdacentre.model.geodesy import is_night
from mdacentre.model.mid import flag_states
from mdacentre.model.sets import isin
from mdacentre.model.trackid import track_id

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

CONDITION_KEYS = frozenset(
    {
        "watchlist",
        "exclude_watchlist",
        "flag",
        "exclude_flag",
        "min_length_m",
        "max_length_m",
        "nav_status",
        "night",
    }
)


class WatchKind(StrEnum):
    """What a watch-list entry identifies."""

    MMSI = "mmsi"
    IMO = "imo"
    NAME = "name"  # vessel name or aircraft callsign, compared upper-case with spaces collapsed
    ICAO = "icao"  # 24-bit aircraft address, hex
    CALLSIGN = "callsign"  # radio call sign


_WHITESPACE_NOT_SPACE = np.array([c for c in range(0x3001) if chr(c).isspace() and c != 32], dtype=np.uint32)


def normalise_names(values: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Upper case, surrounding blanks removed, inner runs of blanks reduced to one space."""
    a = np.char.upper(np.char.strip(np.asarray(values, dtype=np.str_)))
    if a.size == 0:
        return a
    width = a.dtype.itemsize // 4
    if width == 0:
        return a
    codes = np.ascontiguousarray(a).view(np.uint32).reshape(a.size, width)
    odd = isin(codes, _WHITESPACE_NOT_SPACE).any(axis=1)  # what str.split() also splits on
    odd |= ((codes[:, 1:] == 32) & (codes[:, :-1] == 32)).any(axis=1)
    runs = np.flatnonzero(odd)
    if len(runs) == 0:  # the common case: nothing to collapse, no loop per name
        return a
    out = a.astype(object)
    for i in runs.tolist():
        out[i] = " ".join(str(a[i]).split())
    return np.asarray(out.tolist(), dtype=np.str_)


@dataclass(frozen=True)
class WatchList:
    """Identities from one CSV file (columns ``kind,value,label``; ``#`` lines are comments)."""

    path: Path
    mmsi: IntArray
    imo: IntArray
    icao: IntArray
    names: npt.NDArray[np.str_]
    callsigns: npt.NDArray[np.str_]
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return int(len(self.mmsi) + len(self.imo) + len(self.icao) + len(self.names) + len(self.callsigns))

    def mask(self, table: TrackTable, rows: IntArray) -> BoolArray:
        c = table.cols
        kind = c["kind"][rows]
        ident = c["ident"][rows].astype(np.int64)
        vessel = kind == int(TrackKind.VESSEL)
        m = vessel & isin(ident, self.mmsi)
        m |= (kind == int(TrackKind.AIRCRAFT)) & isin(ident, self.icao)
        if len(self.imo):
            m |= vessel & isin(c["imo"][rows].astype(np.int64), self.imo)
        if len(self.names):
            m |= isin(normalise_names(c["name"][rows]), self.names)
        if len(self.callsigns):
            m |= isin(normalise_names(c["callsign"][rows]), self.callsigns)
        return np.asarray(m)

    def label_of(self, table: TrackTable, row: int) -> str | None:
        """The label of the entry that matched a row (for alert reasons), if any."""
        c = table.cols
        kind = int(c["kind"][row])
        ident = int(c["ident"][row])
        keys = (
            [f"icao:{track_id(TrackKind.AIRCRAFT, ident)}"]
            if kind == TrackKind.AIRCRAFT
            else [f"mmsi:{ident}", f"imo:{int(c['imo'][row])}"]
        )
        keys += [
            f"name:{normalise_names([str(c['name'][row])])[0]}",
            f"callsign:{normalise_names([str(c['callsign'][row])])[0]}",
        ]
        return next((self.labels[k] for k in keys if k in self.labels), None)


def _parse_entry(kind: WatchKind, value: str, where: str) -> int | str:
    v = value.strip()
    try:
        if kind == WatchKind.MMSI:
            n = int(v)
            if not 0 < n < 1_000_000_000:
                raise ValueError
            return n
        if kind == WatchKind.IMO:
            n = int(v.upper().removeprefix("IMO").strip())
            if not 1_000_000 <= n <= 9_999_999:
                raise ValueError
            return n
        if kind == WatchKind.ICAO:
            n = int(v, 16)
            if not 0 <= n < 1 << 24:
                raise ValueError
            return n
    except ValueError:
        raise ConfigError(
            f"{where}: {kind.value} {value!r} is not valid (MMSI: 9 digits, IMO: 7 digits, ICAO: 6 hex digits)"
        ) from None
    if not v:
        raise ConfigError(f"{where}: empty {kind.value}")
    return str(normalise_names([v])[0])


def load_watchlist(path: Path) -> WatchList:
    """Read a watch-list CSV; raises ConfigError naming the line to fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read watch-list {path}: {exc}; check the path in [profile.when] watchlist"
        ) from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or not {"kind", "value"} <= set(reader.fieldnames):
        raise ConfigError(f"{path}: the first non-comment line must be the header 'kind,value,label'")
    buckets: dict[WatchKind, list[int | str]] = {k: [] for k in WatchKind}
    labels: dict[str, str] = {}
    for i, r in enumerate(reader, start=2):
        where = f"{path} entry {i - 1}"
        try:
            kind = WatchKind(str(r.get("kind", "")).strip().lower())
        except ValueError:
            raise ConfigError(
                f"{where}: kind {r.get('kind')!r} unknown; use one of {[k.value for k in WatchKind]}"
            ) from None
        v = _parse_entry(kind, str(r.get("value") or ""), where)
        buckets[kind].append(v)
        shown = track_id(TrackKind.AIRCRAFT, int(v)) if kind == WatchKind.ICAO else str(v)
        key = f"{kind.value}:{shown}"
        labels[key] = str(r.get("label") or "").strip() or str(path.stem)
    return WatchList(
        path=path,
        mmsi=np.asarray(buckets[WatchKind.MMSI], dtype=np.int64),
        imo=np.asarray(buckets[WatchKind.IMO], dtype=np.int64),
        icao=np.asarray(buckets[WatchKind.ICAO], dtype=np.int64),
        names=np.asarray(buckets[WatchKind.NAME], dtype=np.str_),
        callsigns=np.asarray(buckets[WatchKind.CALLSIGN], dtype=np.str_),
        labels=labels,
    )


def flag_states_of(table: TrackTable, rows: IntArray) -> npt.NDArray[np.str_]:
    """ISO alpha-2 flag of vessel rows from the MMSI's MID ("" unknown or not a vessel)."""
    out = np.full(len(rows), "", dtype="<U2")
    vessel = table.cols["kind"][rows] == int(TrackKind.VESSEL)
    if not vessel.any():
        return out
    out[vessel] = np.asarray(flag_states(table.cols["ident"][rows][vessel].astype(np.int64)), dtype="<U2")
    return out


@dataclass(frozen=True)
class Conditions:
    """The extra conditions of one profile; :meth:`mask` is True where all of them hold."""

    watchlists: tuple[WatchList, ...] = ()
    exclude_watchlists: tuple[WatchList, ...] = ()
    flags: frozenset[str] = frozenset()
    exclude_flags: frozenset[str] = frozenset()
    min_length_m: float | None = None
    max_length_m: float | None = None
    nav_status: tuple[int, ...] = ()
    night: bool | None = None

    @property
    def empty(self) -> bool:
        return self == Conditions()

    def mask(self, table: TrackTable, rows: IntArray) -> BoolArray:
        c = table.cols
        m = np.ones(len(rows), dtype=bool)
        if self.watchlists:
            hit = np.zeros(len(rows), dtype=bool)
            for wl in self.watchlists:
                hit |= wl.mask(table, rows)
            m &= hit
        for wl in self.exclude_watchlists:
            m &= ~wl.mask(table, rows)
        if self.flags or self.exclude_flags:
            fl = flag_states_of(table, rows)
            if self.flags:
                m &= isin(fl, sorted(self.flags))
            if self.exclude_flags:
                m &= ~isin(fl, sorted(self.exclude_flags))
        length = c["length_m"][rows].astype(np.float64)
        if self.min_length_m is not None:
            m &= length >= self.min_length_m  # unknown length (NaN) never matches a size condition
        if self.max_length_m is not None:
            m &= length <= self.max_length_m
        if self.nav_status:
            m &= isin(c["nav_status"][rows], self.nav_status)
        if self.night is not None:
            night = is_night(c["t"][rows], c["lat"][rows], c["lon"][rows])
            m &= night if self.night else ~night
        return m

    def watch_label(self, table: TrackTable, row: int) -> str | None:
        return next((lab for wl in self.watchlists if (lab := wl.label_of(table, row))), None)


def _str_list(when: dict[str, Any], key: str, where: str) -> list[str]:
    v = when.get(key, [])
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return v


def _number(when: dict[str, Any], key: str, where: str) -> float | None:
    if key not in when:
        return None
    v = when[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ConfigError(f"{where}: {key} must be a non-negative number, not {v!r}")
    return float(v)


def parse_conditions(when: dict[str, Any], base_dir: Path, where: str) -> Conditions:
    """The :data:`CONDITION_KEYS` of a ``[profile.when]`` table (other keys are ignored here)."""
    wls = tuple(
        load_watchlist(p if (p := Path(s)).is_absolute() else base_dir / p)
        for s in _str_list(when, "watchlist", where)
    )
    excl_wls = tuple(
        load_watchlist(p if (p := Path(s)).is_absolute() else base_dir / p)
        for s in _str_list(when, "exclude_watchlist", where)
    )
    flags = [f.upper() for f in _str_list(when, "flag", where)]
    excl = [f.upper() for f in _str_list(when, "exclude_flag", where)]
    bad = [f for f in flags + excl if len(f) != 2 or not f.isalpha()]
    if bad:
        raise ConfigError(f"{where}: flags {bad} must be ISO 3166 alpha-2 codes such as 'JM'")
    nav = when.get("nav_status", [])
    if not isinstance(nav, list) or not all(isinstance(x, int) and 0 <= x <= 15 for x in nav):
        raise ConfigError(f"{where}: nav_status must be a list of AIS status codes 0-15")
    night = when.get("night")
    if night is not None and not isinstance(night, bool):
        raise ConfigError(f"{where}: night must be true or false")
    lo, hi = _number(when, "min_length_m", where), _number(when, "max_length_m", where)
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"{where}: min_length_m {lo} is larger than max_length_m {hi}")
    return Conditions(
        watchlists=wls,
        exclude_watchlists=excl_wls,
        flags=frozenset(flags),
        exclude_flags=frozenset(excl),
        min_length_m=lo,
        max_length_m=hi,
        nav_status=tuple(nav),
        night=night,
    )
