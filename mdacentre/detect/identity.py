"""Suspicious identity changes (category ``identity_change``).

Changes of name, call sign or destination are routine in port; some are not:

* **name change at sea** - the broadcast ship name changes while the vessel is in no port approach
  (ships are renamed in port or in a yard, not under way);
* **flag change at sea** - an IMO number known under one MMSI appears under an MMSI of another flag
  state (MID) while the vessel is in no port approach (re-flagging gives a ship a new MMSI; doing it
  at sea is a way to shed a record);
* **one IMO under two MMSIs** - two tracks that both reported within ``shared_imo_window_s`` carry
  the same IMO number (one of them is not who it says);
* **statics flip** - the name or IMO of one MMSI goes back to a value it had within
  ``flip_window_s`` (two ships sharing one transponder identity, or a transponder alternating).

Only IMO numbers whose check digit holds count (AIS carries many placeholders such as 0 or 100).

The detector reads the track table after each step (static fields merged there) and keeps, per
row, the last name and IMO and the value before the last change; only rows whose identity fields
changed reach Python code. An alert stays open ``hold_s`` of event time after its last evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.common import (
    Cleared,
    RowState,
    StepOut,
    first_zone_inside,
    fmt_hours,
    make_finding,
    track_label,
    zone_indices,
)
from mdacentre.detect.context import StepContext
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Finding
from mdacentre.model.imo import valid_imo
from mdacentre.model.mid import flag_states

CATEGORY = "identity_change"


@dataclass(frozen=True)
class IdentityConfig:
    name_change_score: float = 45.0  # medium
    flag_change_score: float = 60.0  # high
    shared_imo_score: float = 65.0  # high
    flip_score: float = 70.0  # high
    flip_window_s: float = 24 * 3600.0
    shared_imo_window_s: float = 3600.0
    hold_s: float = 6 * 3600.0


def _flag(ident: int) -> str:
    return str(flag_states(np.asarray([ident], dtype=np.int64))[0]) or "?"


class IdentityDetector:
    """Findings for identity changes that a person should look at (see module docstring)."""

    def __init__(self, zones: list[Zone], config: IdentityConfig | None = None) -> None:
        self.cfg = config or IdentityConfig()
        self.zones = zones
        self.ports = zone_indices(zones, [ZoneKind.PORT_APPROACH])
        self.state = RowState(
            {
                "name": ("<U20", ""),
                "prev_name": ("<U20", ""),
                "name_t": ("f8", np.nan),
                "imo": ("<u4", 0),
                "prev_imo": ("<u4", 0),
                "imo_t": ("f8", np.nan),
            }
        )
        self.imo_tracks: dict[int, dict[int, float]] = {}  # IMO -> {track key: last time seen with it}
        self.raised: dict[int, float] = {}  # track key -> event time of the last evidence

    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = []
        table = ctx.table
        c = table.cols
        rows = ctx.update.rows
        rows = rows[(c["kind"][rows] == int(TrackKind.VESSEL)) & np.isfinite(c["static_t"][rows])]
        if len(rows):
            self.state.claim(table, rows)
            s = self.state.cols
            name, imo = c["name"][rows], c["imo"][rows]
            name_ch = (name != "") & (s["name"][rows] != "") & (name != s["name"][rows])
            imo_ch = (imo != s["imo"][rows]) & valid_imo(imo)
            cand = np.flatnonzero(name_ch | imo_ch)
            if len(cand):
                in_port = first_zone_inside(ctx.fences, rows[cand], self.ports) >= 0
                for j, i in enumerate(cand.tolist()):
                    f = self._check(ctx, int(rows[i]), bool(name_ch[i]), bool(imo_ch[i]), bool(in_port[j]))
                    if f is not None:
                        findings.append(f)
                        self.raised[f.track_key] = f.t
            known = rows[name != ""]
            s["name"][known] = c["name"][known]
            with_imo = rows[valid_imo(imo)]
            s["imo"][with_imo] = c["imo"][with_imo]
        for key, t in list(self.raised.items()):
            if ctx.watermark - t > self.cfg.hold_s:
                del self.raised[key]
                cleared.append(((CATEGORY, key, ""), ctx.watermark))
        return findings, cleared

    def _check(
        self, ctx: StepContext, row: int, name_ch: bool, imo_ch: bool, in_port: bool
    ) -> Finding | None:
        cfg = self.cfg
        c = ctx.table.cols
        s = self.state.cols
        t = float(np.fmax(c["static_t"][row], c["t"][row]))
        key = int(c["key"][row])
        label = track_label(ctx.table, row)
        best: tuple[float, str, str] | None = None

        def consider(score: float, kind: str, reason: str) -> None:
            nonlocal best
            if best is None or score > best[0]:
                best = (score, kind, reason)

        if name_ch:
            old, new = str(s["name"][row]), str(c["name"][row])
            if new == str(s["prev_name"][row]) and t - float(s["name_t"][row]) <= cfg.flip_window_s:
                consider(
                    cfg.flip_score,
                    "flip",
                    f"{label} switches between names {old} and {new} "
                    f"(back within {fmt_hours(t - float(s['name_t'][row]))})",
                )
            elif not in_port:
                consider(
                    cfg.name_change_score,
                    "name_at_sea",
                    f"{label} changed its name from {old} to {new} at sea",
                )
            s["prev_name"][row], s["name_t"][row] = old, t
        if imo_ch:
            new_imo, old_imo = int(c["imo"][row]), int(s["imo"][row])
            if (
                old_imo
                and new_imo == int(s["prev_imo"][row])
                and t - float(s["imo_t"][row]) <= cfg.flip_window_s
            ):
                consider(cfg.flip_score, "flip", f"{label} switches between IMO {old_imo} and IMO {new_imo}")
            if old_imo:
                s["prev_imo"][row], s["imo_t"][row] = old_imo, t
            self._shared_imo(ctx, row, key, new_imo, t, in_port, label, consider)
        if best is None:
            return None
        score, kind, reason = best
        return make_finding(ctx.table, row, CATEGORY, t, score, (reason,), None, {"change": kind})

    def _shared_imo(
        self,
        ctx: StepContext,
        row: int,
        key: int,
        imo: int,
        t: float,
        in_port: bool,
        label: str,
        consider: Callable[[float, str, str], None],
    ) -> None:
        cfg = self.cfg
        holders = self.imo_tracks.setdefault(imo, {})
        others = {k: seen for k, seen in holders.items() if k != key}
        holders[key] = t
        if not others:
            return
        rows = ctx.table.lookup(np.fromiter(others, dtype=np.int64))
        last_t = np.where(rows >= 0, ctx.table.cols["last_t"][np.maximum(rows, 0)], -np.inf)
        ident = key & 0xFFFFFFFF
        for (other, seen), lt in zip(others.items(), last_t.tolist(), strict=True):
            o_ident = other & 0xFFFFFFFF
            recent = max(seen, lt) >= t - cfg.shared_imo_window_s
            if recent:
                consider(
                    cfg.shared_imo_score,
                    "shared_imo",
                    f"{label} broadcasts IMO {imo}, also used by MMSI {o_ident}",
                )
            elif not in_port and _flag(o_ident) != _flag(ident):
                consider(
                    cfg.flag_change_score,
                    "flag_at_sea",
                    f"IMO {imo} moved from MMSI {o_ident} ({_flag(o_ident)}) to {label} ({_flag(ident)}) at sea",
                )

    def forget(self, keys: set[int]) -> None:
        self.state.forget_keys(keys)
        for k in keys:
            self.raised.pop(k, None)
        # imo_tracks keeps evicted tracks: a re-flagged ship's old MMSI has gone silent by design
