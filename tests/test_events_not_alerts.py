"""Events are not alerts: with the shipped profiles, transits are timeline events; only a profile raises an alert.

A hazardous-cargo tanker crossing the Windward Passage raises one alert; an ordinary tanker and a
cargo ship entering Jamaica's territorial sea raise none, yet all three crossings are events."""

from __future__ import annotations

import numpy as np
import pytest

from mdacentre.alerting.alerts import AlertStatus
from mdacentre.core.timeline import TimelineTracker
from mdacentre.core.zones import load_library
from mdacentre.detect.registry import load_detectors
from mdacentre.model.batch import Batch, TrackKind, empty_statics, make_key
from mdacentre.risk.profiles import load_profiles
from mdacentre.runtime.settings import repo_root
from mdacentre.service.pipeline import Pipeline

T0 = 1_768_471_200.0  # 2026-01-15T10:00Z (daytime in the Caribbean)


def _voyage(mmsi: int, ship_type: int, lon: float, lat0: float, lat1: float) -> list[Batch]:
    """Reports every 5 minutes going north at about 12 kn, with a static report first."""
    from mdacentre.model.batch import empty_positions

    lats = np.arange(lat0, lat1, 0.0167)
    out = []
    for i, lat in enumerate(lats):
        p = empty_positions(1)
        p["key"], p["kind"], p["ident"] = make_key(TrackKind.VESSEL, mmsi), TrackKind.VESSEL, mmsi
        p["t"], p["lat"], p["lon"], p["sog"], p["cog"], p["msg_type"] = T0 + 300 * i, lat, lon, 12.0, 0.0, 1
        st = empty_statics(0)
        if i == 0:
            st = empty_statics(1)
            st["key"], st["kind"], st["ident"], st["t"] = p["key"], TrackKind.VESSEL, mmsi, T0 - 1
            st["ship_type"], st["length_m"], st["name"], st["msg_type"] = ship_type, 180.0, f"SHIP {mmsi}", 5
        out.append(Batch(positions=p, statics=st))
    return out


@pytest.fixture(scope="module")
def runs() -> dict[int, tuple[list, dict]]:
    root = repo_root() / "geofences"
    zones = load_library(root)
    voyages = {
        538000081: _voyage(538000081, 81, -73.9, 19.3, 20.7),  # hazardous (X) tanker through the passage
        538000080: _voyage(538000080, 80, -73.9, 19.3, 20.7),  # tanker, no hazard category
        538000070: _voyage(538000070, 70, -76.3, 17.4, 17.75),  # cargo ship into Jamaica's territorial sea
    }
    out = {}
    for mmsi, batches in voyages.items():
        pipe = Pipeline(
            zones,
            load_profiles(root / "profiles.toml", zones),
            detectors=load_detectors(root / "profiles.toml", zones),
        )
        tl = TimelineTracker(zones)
        alerts, events = [], []
        for b in batches:
            res = pipe.step(b)
            alerts.extend(res.alerts)
            ev = tl.step(b.positions, b.statics, res.fence_events)
            events.extend(zip(ev["event"].tolist(), ev["zone"].tolist(), strict=True))
        out[mmsi] = (alerts, events)
    return out


def test_hazardous_tanker_crossing_a_passage_raises_an_alert(runs: dict[int, tuple[list, dict]]) -> None:
    alerts, events = runs[538000081]
    passage = [a for a in alerts if a.category == "hazardous_passage" and a.status == AlertStatus.OPEN]
    assert [a.zone.id for a in passage] == ["gate-windward"]
    assert ("gate_crossing", "gate-windward") in events


def test_ordinary_tanker_crossing_and_cargo_entering_territorial_sea_are_events_only(
    runs: dict[int, tuple[list, dict]],
) -> None:
    alerts, events = runs[538000080]
    assert not [a for a in alerts if a.category in ("hazardous_passage", "zone_entry")]
    assert ("gate_crossing", "gate-windward") in events
    alerts, events = runs[538000070]
    assert alerts == []
    assert ("zone_enter", "JM-ts") in events
