"""The evaluation table: per category alerts per day, share of tracks flagged, recall, reasons by frequency.

The JSON form (``schema`` ``mdacentre.evaluate/1``) has sorted keys and rounded figures, so two
runs on the same data and code give the same bytes: other tools may diff it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mdacentre.alerting.alerts import Alert
from mdacentre.model.findings import Level, iso
from mdacentre.service.evaluate.synth import Planted

SCHEMA = "mdacentre.evaluate/1"
EVENT_CATEGORIES = frozenset({"zone_entry", "ais_silence"})  # transits and routine silences are events
BUDGET_MAX_SHARE = 0.01  # no behaviour category flags more than 1 % of the day's vessels
BUDGET_MEDIUM_PER_100 = 5.0  # alerts at medium or above per 100 vessels per day
TOP_REASONS = 3  # in the text table (the JSON has them all)

_LABEL = re.compile(r"\b(MMSI|ICAO) [0-9a-fA-F]+(?: \([^)]*\))?")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?Z?")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_PLACEHOLDERS = re.compile(r" \((?:last seen )?[#, ]*(?:at <time>)?\)")


def reason_pattern(reason: str) -> str:
    """A reason with its identities, times and numbers replaced, so that like reasons count together."""
    s = _LABEL.sub(lambda m: f"{m.group(1)} #", reason)
    s = _TIME.sub("<time>", s)
    s = _NUMBER.sub("#", s)
    return _PLACEHOLDERS.sub("", s)  # "(last seen #, # at <time>)" says nothing once folded


@dataclass
class AlertLog:
    """Every alert of a run, folded to one entry per alert id (first time, highest level, last reasons)."""

    first: dict[str, Alert] = field(default_factory=dict)
    last: dict[str, Alert] = field(default_factory=dict)
    level: dict[str, Level] = field(default_factory=dict)

    def add(self, alerts: list[Alert]) -> None:
        for a in alerts:
            self.first.setdefault(a.id, a)
            self.last[a.id] = a
            self.level[a.id] = max(self.level.get(a.id, Level.INFO), a.level)


def _kind_of(category: str, profile_categories: set[str]) -> str:
    if category in EVENT_CATEGORIES:
        return "event"
    return "profile" if category in profile_categories else "behaviour"


def build_report(
    log: AlertLog,
    planted: list[Planted],
    real_tracks: int,
    positions: int,
    days: float,
    files: list[str],
    profile_categories: set[str],
) -> dict[str, Any]:
    planted_keys = {k for p in planted for k in p.keys}
    cats: dict[str, dict[str, Any]] = {}
    flagged: dict[str, set[int]] = {}
    reasons: dict[str, Counter[str]] = {}
    by_type: dict[str, dict[int, set[int]]] = {}
    medium_plus = 0
    for aid, a in log.first.items():
        if a.track_key in planted_keys:
            continue
        c = cats.setdefault(a.category, {"alerts": 0, "medium_plus": 0, "by_level": {}})
        c["alerts"] += 1
        lv = log.level[aid].label
        c["by_level"][lv] = c["by_level"].get(lv, 0) + 1
        flagged.setdefault(a.category, set()).add(a.track_key)
        st = a.track.ship_type if a.track.ship_type is not None else -1
        by_type.setdefault(a.category, {}).setdefault(st, set()).add(a.track_key)
        if log.level[aid] >= Level.MEDIUM:
            c["medium_plus"] += 1
            if a.category not in EVENT_CATEGORIES:
                medium_plus += 1
        rc = reasons.setdefault(a.category, Counter())
        rc.update({reason_pattern(r) for r in log.last[aid].reasons})
    cases = [_case(p, log) for p in planted]
    for case in cases:
        cats.setdefault(case["expect"], {"alerts": 0, "medium_plus": 0, "by_level": {}})
    per_day = max(days, 1e-9)
    for name, c in cats.items():
        c["kind"] = _kind_of(name, profile_categories)
        c["alerts_per_day"] = round(c["alerts"] / per_day, 2)
        c["tracks_flagged"] = len(flagged.get(name, ()))
        # who raises them: flagged real tracks per AIS ship type (-1 unknown), most first
        types = by_type.get(name, {})
        c["tracks_flagged_by_ship_type"] = [
            [t, len(k)] for t, k in sorted(types.items(), key=lambda x: (-len(x[1]), x[0]))
        ]
        c["by_level"] = dict(sorted(c["by_level"].items()))
        c["share_of_tracks"] = round(c["tracks_flagged"] / real_tracks, 4) if real_tracks else 0.0
        threats = [x for x in cases if x["expect"] == name and not x["near_miss"]]
        misses = [x for x in cases if x["expect"] == name and x["near_miss"]]
        c["planted"] = len(threats)
        c["found"] = sum(x["ok"] for x in threats)
        c["recall"] = round(c["found"] / len(threats), 4) if threats else None
        c["near_misses"] = len(misses)
        c["near_misses_fired"] = sum(not x["ok"] for x in misses)
        c["top_reasons"] = [
            [r, n] for r, n in sorted(reasons.get(name, Counter()).items(), key=lambda x: (-x[1], x[0]))
        ]
        c["over_budget"] = c["kind"] == "behaviour" and c["share_of_tracks"] > BUDGET_MAX_SHARE
    threats = [x for x in cases if not x["near_miss"]]
    medium_rate = medium_plus / per_day / real_tracks * 100.0 if real_tracks else 0.0
    return {
        "schema": SCHEMA,
        "files": files,
        "days": round(days, 4),
        "tracks": real_tracks,
        "positions": positions,
        "categories": dict(sorted(cats.items())),
        "budget": {
            "max_share_of_tracks": BUDGET_MAX_SHARE,
            "max_medium_plus_per_100_tracks_per_day": BUDGET_MEDIUM_PER_100,
            "medium_plus_per_100_tracks_per_day": round(medium_rate, 2),
            "categories_over": sorted(n for n, c in cats.items() if c["over_budget"]),
            "met": medium_rate <= BUDGET_MEDIUM_PER_100 and not any(c["over_budget"] for c in cats.values()),
        },
        "recall": {
            "planted": len(threats),
            "found": sum(x["ok"] for x in threats),
            "near_misses": len(cases) - len(threats),
            "near_misses_fired": sum(not x["ok"] for x in cases if x["near_miss"]),
        },
        "cases": cases,
    }


def _case(p: Planted, log: AlertLog) -> dict[str, Any]:
    s = p.scenario
    keys = set(p.keys)
    mine = sorted(
        (a for a in log.first.values() if a.track_key in keys),
        key=lambda a: (a.time, a.category, a.id),
    )
    hits = [a for a in mine if a.category == s.expect]
    in_window = [a for a in hits if p.window[0] <= a.time <= p.window[1]]
    ok = not in_window if s.near_miss else bool(in_window)
    return {
        "id": s.id,
        "kind": s.kind.value,
        "expect": s.expect,
        "near_miss": s.near_miss,
        "window": [iso(p.window[0]), iso(p.window[1])],
        "ok": ok,
        "alerts": [
            {"category": a.category, "time": iso(a.time), "level": log.level[a.id].label, "track": a.track.id}
            for a in mine
        ],
    }


def format_table(rep: dict[str, Any]) -> str:
    """The report as a Markdown table plus the planted cases, for people and for docs."""
    lines = [
        f"files: {', '.join(rep['files'])}; {rep['days']:g} day(s) of data, {rep['tracks']} real tracks, "
        f"{rep['positions']} positions",
        "",
        "| category | kind | alerts/day | tracks flagged | share | recall (planted) | near misses fired | top reasons |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in rep["categories"].items():
        share = f"{100 * c['share_of_tracks']:.1f} %" + (" **over**" if c["over_budget"] else "")
        recall = f"{c['found']}/{c['planted']}" if c["planted"] else "-"
        nm = f"{c['near_misses_fired']}/{c['near_misses']}" if c["near_misses"] else "-"
        top = "; ".join(f"{r} ({n})" for r, n in c["top_reasons"][:TOP_REASONS]) or "-"
        lines.append(
            f"| `{name}` | {c['kind']} | {c['alerts_per_day']:g} | {c['tracks_flagged']} | {share} | {recall} | {nm} | {top} |"
        )
    b, r = rep["budget"], rep["recall"]
    lines += [
        "",
        f"budget: medium or above {b['medium_plus_per_100_tracks_per_day']:g} per 100 tracks per day "
        f"(goal <= {b['max_medium_plus_per_100_tracks_per_day']:g}); behaviour categories over "
        f"{100 * b['max_share_of_tracks']:g} % of tracks: {', '.join(b['categories_over']) or 'none'}",
        f"recall: {r['found']}/{r['planted']} planted threats found in their window; "
        f"near misses fired: {r['near_misses_fired']}/{r['near_misses']}",
    ]
    if rep["cases"]:
        lines += [
            "",
            "| case | expect | window (UTC) | result | alerts on its tracks |",
            "|---|---|---|---|---|",
        ]
        for x in rep["cases"]:
            result = (
                ("silent" if x["ok"] else "FIRED") if x["near_miss"] else ("found" if x["ok"] else "MISSED")
            )
            got = ", ".join(f"{a['category']} {a['time'][11:16]} {a['level']}" for a in x["alerts"]) or "-"
            later = " +1 d" if x["window"][1][:10] > x["window"][0][:10] else ""
            win = f"{x['window'][0][11:16]}-{x['window'][1][11:16]}{later}"
            lines.append(
                f"| {x['id']}{' (near miss)' if x['near_miss'] else ''} | `{x['expect']}` | {win} | {result} | {got} |"
            )
    return "\n".join(lines)
