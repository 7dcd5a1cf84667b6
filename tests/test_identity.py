"""Suspicious identity changes (detect/identity.py): one scenario and one near miss per case, through the real
Pipeline, in the style of tests/test_detectors.py."""

from __future__ import annotations

import numpy as np
import shapely

from mdacentre.alerting.alerts import Alert, AlertStatus
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.identity import CATEGORY, IdentityConfig, IdentityDetector
from mdacentre.detect.registry import load_detectors
from mdacentre.model.batch import Batch, TrackKind, empty_positions, empty_statics, make_key
from mdacentre.runtime.settings import repo_root
from mdacentre.service.pipeline import Pipeline

T0 = 1_705_338_000.0
LAT, LON = 16.5, -76.0  # open sea south of Jamaica
PORT_LAT, PORT_LON = 17.95, -76.8  # Kingston
H = 3600.0


def port_zone() -> Zone:
    geom = shapely.Point(PORT_LON, PORT_LAT).buffer(0.05)
    return Zone(id="port-test", name="Test port", kind=ZoneKind.PORT_APPROACH, state="JM", geometry=geom)


def pos(mmsi: int, t: float, lat: float = LAT, lon: float = LON) -> np.ndarray:
    p = empty_positions(1)
    p["key"], p["kind"], p["ident"] = make_key(TrackKind.VESSEL, mmsi), TrackKind.VESSEL, mmsi
    p["t"], p["lat"], p["lon"], p["sog"], p["cog"], p["msg_type"] = t, lat, lon, 10.0, 90.0, 1
    return p


def static(mmsi: int, t: float, name: str, imo: int = 0) -> np.ndarray:
    s = empty_statics(1)
    s["key"], s["kind"], s["ident"] = make_key(TrackKind.VESSEL, mmsi), TrackKind.VESSEL, mmsi
    s["t"], s["name"], s["imo"], s["ship_type"], s["msg_type"] = t, name, imo, 70, 5
    return s


def run(
    steps: list[tuple[list[np.ndarray], list[np.ndarray]]], config: IdentityConfig | None = None
) -> list[Alert]:
    zones = [port_zone()]
    pipe = Pipeline(zones, profiles=[], detectors=[IdentityDetector(zones, config)])
    out: list[Alert] = []
    for p, s in steps:
        b = Batch(
            positions=np.concatenate(p) if p else empty_positions(),
            statics=np.concatenate(s) if s else empty_statics(),
        )
        out.extend(pipe.step(b).alerts)
    return out


def opened(alerts: list[Alert]) -> list[Alert]:
    return [
        a for a in alerts if a.category == CATEGORY and a.status in (AlertStatus.OPEN, AlertStatus.UPDATED)
    ]


def renamed(mmsi: int, names: list[str], times: list[float], lat: float, lon: float) -> list:
    return [([pos(mmsi, t, lat, lon)], [static(mmsi, t + 1, n)]) for n, t in zip(names, times, strict=True)]


def test_name_change_at_sea() -> None:
    alerts = opened(run(renamed(366000101, ["ALPHA", "ALPHA", "BRAVO"], [T0, T0 + 600, T0 + 1200], LAT, LON)))
    assert len(alerts) == 1
    a = alerts[0]
    assert a.extra["change"] == "name_at_sea" and a.level.label == "medium"
    assert "from ALPHA to BRAVO at sea" in a.reasons[0] and a.time == T0 + 1201


def test_name_change_in_port_is_routine() -> None:
    steps = renamed(366000102, ["ALPHA", "BRAVO"], [T0, T0 + 600], PORT_LAT, PORT_LON)
    assert opened(run(steps)) == []


def test_statics_flip_between_two_ships() -> None:
    names = ["ALPHA", "BRAVO", "ALPHA"]
    alerts = opened(run(renamed(366000103, names, [T0, T0 + 1800, T0 + 3600], LAT, LON)))
    assert [a.extra["change"] for a in alerts] == ["name_at_sea", "flip"]
    assert (
        alerts[-1].level.label == "high" and "switches between names BRAVO and ALPHA" in alerts[-1].reasons[0]
    )


def test_name_back_after_the_flip_window_is_no_flip() -> None:
    names = ["ALPHA", "BRAVO", "ALPHA"]
    cfg = IdentityConfig(flip_window_s=2 * H)
    alerts = opened(run(renamed(366000104, names, [T0, T0 + H, T0 + 4 * H], LAT, LON), cfg))
    assert "flip" not in [a.extra["change"] for a in alerts]


def test_one_imo_under_two_mmsis() -> None:
    steps = [
        ([pos(366000105, T0), pos(538000105, T0, LAT + 1)], [static(366000105, T0 + 1, "ALPHA", 9123465)]),
        (
            [pos(366000105, T0 + 600), pos(538000105, T0 + 600, LAT + 1)],
            [static(538000105, T0 + 601, "ALPHA", 9123465)],
        ),
    ]
    alerts = opened(run(steps))
    assert len(alerts) == 1 and alerts[0].extra["change"] == "shared_imo"
    assert alerts[0].track.id == "538000105" and "also used by MMSI 366000105" in alerts[0].reasons[0]


def test_imo_taken_over_by_an_mmsi_of_the_same_flag_after_silence_is_no_alert() -> None:
    steps = [
        ([pos(366000106, T0)], [static(366000106, T0 + 1, "ALPHA", 9123477)]),
        ([pos(367000106, T0 + 5 * H)], [static(367000106, T0 + 5 * H + 1, "ALPHA", 9123477)]),
    ]
    assert opened(run(steps)) == []


def test_flag_change_at_sea_and_near_miss_in_port() -> None:
    def steps(lat: float, lon: float) -> list:
        return [
            ([pos(310000107, T0, lat, lon)], [static(310000107, T0 + 1, "ALPHA", 9123489)]),
            ([pos(636000107, T0 + 5 * H, lat, lon)], [static(636000107, T0 + 5 * H + 1, "ALPHA", 9123489)]),
        ]

    alerts = opened(run(steps(LAT, LON)))
    assert len(alerts) == 1 and alerts[0].extra["change"] == "flag_at_sea"
    assert "MMSI 310000107 (BM)" in alerts[0].reasons[0] and "(LR) at sea" in alerts[0].reasons[0]
    assert opened(run(steps(PORT_LAT, PORT_LON))) == []


def test_alert_closes_after_the_hold_time() -> None:
    steps = renamed(366000108, ["ALPHA", "BRAVO"], [T0, T0 + 600], LAT, LON)
    steps.append(([pos(366000108, T0 + 8 * H)], []))
    alerts = run(steps)
    assert [a.status for a in alerts if a.category == CATEGORY] == [AlertStatus.OPEN, AlertStatus.CLOSED]


def test_shipped_profiles_enable_the_detector() -> None:
    dets = load_detectors(repo_root() / "geofences" / "profiles.toml", [port_zone()])
    assert any(isinstance(d, IdentityDetector) for d in dets)


def test_placeholder_imo_shared_by_two_mmsis_is_no_alert() -> None:
    """IMO 100 (a placeholder seen on real feeds) fails the check digit: no shared-IMO alert."""
    steps = [
        ([pos(366000109, T0), pos(538000109, T0, LAT + 1)], [static(366000109, T0 + 1, "ALPHA", 100)]),
        (
            [pos(366000109, T0 + 600), pos(538000109, T0 + 600, LAT + 1)],
            [static(538000109, T0 + 601, "BETA", 100)],
        ),
    ]
    assert opened(run(steps)) == []
