"""Duration conditions fire at the event time they are met, however the input is cut.

Scenario data: an aircraft circling over open sea (circling: 720 degrees within 15 minutes), and
vessels at the edge of a test zone (fence dwell: on the new side for 180 s; fence hysteresis: 300 m
past the boundary; boundary jitter that never confirms), plus the slow pair and the silent vessel
of the scenario in ``test_event_time``. Each condition is cut in its middle (the chunk boundary
falls after the condition started and before it is met), and at random places.

Each check asserts the watermark of the step that raises the alert: within one event-time step of
the moment the condition is met. A pipeline stepping once per input chunk raises it only at the
end of the chunk holding that moment (hours later in these scenarios), so the checks fail there.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import shapely
from conftest import position
from test_event_time import T0, duration_scenario
from timecuts import fresh_core

from mdacentre.alerting.alerts import Alert
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.playback import line_time
from mdacentre.ingest.sources import Chunk
from mdacentre.risk.profiles import load_profiles
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import load_settings
from mdacentre.service.core import Core
from mdacentre.service.pipeline import Pipeline, PipelineConfig

STEP_S = 60.0  # [time] step_s of the default settings
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(15.5))


# -- running a cut replay ------------------------------------------------------------------------


def run_cut(
    core: Core, lines: Sequence[bytes], cuts: Sequence[int]
) -> tuple[bytes, list[tuple[float, Alert]]]:
    """The alert output of ``lines`` cut before each index of ``cuts``, and (step watermark, alert)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(lines)}), len(lines)]
    results = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        results += core.ingest([Chunk(0, b"".join(lines[a:b]), T0)])
    results += core.finish_feed(0) + core.flush()
    hits = [(r.watermark, a) for r in results for a in r.alerts]
    return b"".join(orjson.dumps(a.to_json()) + b"\n" for _w, a in hits), hits


def check_fires_when_met(
    make_core: Callable[[], Core],
    lines: Sequence[bytes],
    category: str,
    key_id: str,
    alert_time: float,
    met: float,
    cut_inside: tuple[float, float],
) -> None:
    """Uncut, cut in the middle of the condition and cut at every line of its span: the same alerts,
    the first ``category`` alert of track ``key_id`` dated ``alert_time`` and raised in the step of
    event time ``met``."""
    ref, hits = run_cut(make_core(), lines, [])
    mid = [i for i, ln in enumerate(lines) if cut_inside[0] < (line_time(ln) or -1.0) < cut_inside[1]]
    assert mid, "no line inside the condition to cut at"
    for cuts in ([mid[len(mid) // 2]], mid[:: max(1, len(mid) // 7)], []):
        out, hits = run_cut(make_core(), lines, cuts)
        assert out == ref, f"cut at {cuts} changed the alerts"
        mine = [(w, a) for w, a in hits if a.category == category and a.track.id == key_id and a.version == 1]
        assert mine, sorted({(a.category, a.track.id) for _w, a in hits})
        wm, alert = mine[0]
        assert alert.time == pytest.approx(alert_time, abs=1.0)
        # raised in the step holding the moment the condition was met, not at the end of a chunk
        assert met - 1.0 <= wm < met + STEP_S, (cuts, wm - met)


# -- circling aircraft ---------------------------------------------------------------------------

HEX = "A1C1C1"
CIRCLE_START = T0 + 1200.0  # 20 min of straight flight first
EVERY_S = 5.0
TURN_DEG = 9.0  # per report: 1.8 deg/s, a standard-rate turn
CIRCLE_MET = CIRCLE_START + EVERY_S * (720.0 / TURN_DEG)  # 720 degrees turned


def _sbs(t: float, lat: float, lon: float, track: float) -> bytes:
    d = datetime.fromtimestamp(t, UTC)
    day, clock = d.strftime("%Y/%m/%d"), d.strftime("%H:%M:%S.%f")[:-3]
    f = ["MSG", "3", "1", "1", HEX, "1", day, clock, day, clock, "", "3000", "120", f"{track:.1f}"]
    f += [f"{lat:.5f}", f"{lon:.5f}", "0", "", "", "", "", "0"]
    return (",".join(f) + "\n").encode()


def circling_lines() -> list[bytes]:
    """120 kn at 3,000 ft over the open Caribbean: 20 min east, 10 min circling right, 1 h east."""
    out: list[bytes] = []
    lat, lon, track, t = 15.0, -71.0, 90.0, T0
    step_m = 120 * 1852 / 3600 * EVERY_S
    while t <= T0 + 3 * 3600:
        out.append(_sbs(t, lat, lon, track))
        t += EVERY_S
        if CIRCLE_START < t <= CIRCLE_START + 600:
            track = (track + TURN_DEG) % 360
        lat += step_m * math.cos(math.radians(track)) / 111_320.0
        lon += step_m * math.sin(math.radians(track)) / (111_320.0 * math.cos(math.radians(lat)))
    return out


@functools.cache
def _sbs_template() -> Core:
    core = Core(
        load_settings(None, env={}), [FeedSpec("adsb", FeedKind.SBS, Transport.FILE, path="-")], Metrics()
    )
    core.metrics = None  # type: ignore[assignment]  # a lock cannot be copied
    return core


def sbs_core() -> Core:
    core = copy.deepcopy(_sbs_template())
    core.metrics = Metrics()
    return core


def test_circling_fires_when_720_degrees_are_turned_however_cut() -> None:
    check_fires_when_met(
        sbs_core,
        circling_lines(),
        "circling",
        HEX.lower(),
        alert_time=CIRCLE_MET,
        met=CIRCLE_MET,
        cut_inside=(CIRCLE_START + 30.0, CIRCLE_MET - 30.0),
    )


# -- fence dwell and hysteresis ------------------------------------------------------------------

EDGE = -71.0  # the west edge of the test zone (longitude)
DWELL_MMSI, HYST_MMSI, JITTER_MMSI = 311000511, 311000522, 311000533


def _lines(mmsi: int, lat: float, track: Sequence[tuple[float, float]]) -> list[bytes]:
    return [s.encode() + b"\n" for t, lon in track for s in position(mmsi, lat, lon, t, 2.0, 90.0)]


def fence_lines() -> tuple[list[bytes], float, float, float, float]:
    """Three vessels at the zone's west edge for 3 h; returns the lines (in time order) and, for the
    dwell and the hysteresis vessel, the first report inside and the report that confirms it."""
    # dwell: 2 kn east, a report every 30 s; it stays within 300 m of the edge for more than 180 s
    dwell = [(T0 + 30.0 * i, EDGE - 0.00115 + 0.0003 * i) for i in range(360)]
    d_in = next(t for t, lon in dwell if lon > EDGE)
    d_met = d_in + 180.0
    # hysteresis: 20 kn east, a report every 10 s; confirmed 300 m past the edge, before 180 s
    hyst = [(T0 + 600.0 + 10.0 * i, EDGE - 0.0015 + 0.001 * i) for i in range(1000)]
    h_in = next(t for t, lon in hyst if lon > EDGE)
    h_met = next(t for t, lon in hyst if (lon - EDGE) * M_PER_DEG_LON >= 300.0)
    assert h_met - h_in < 180.0
    # jitter: 100 m either side of the edge, changing side every minute: never confirmed
    jitter = [(T0 + 60.0 * i, EDGE + (0.0009 if i % 2 else -0.0009)) for i in range(180)]
    lines = (
        _lines(DWELL_MMSI, 15.5, dwell) + _lines(HYST_MMSI, 15.6, hyst) + _lines(JITTER_MMSI, 15.4, jitter)
    )
    return sorted(lines, key=lambda ln: line_time(ln) or 0.0), d_in, d_met, h_in, h_met


PROFILE = """
[[profile]]
id = "test_zone_entry"
category = "zone_entry"
weight = 50
level = "medium"
reason = "entered {zone}"
[profile.when]
kind = ["vessel"]
inside = ["test_zone"]
"""


def zone_core(tmp: Path) -> Callable[[], Core]:
    """Cores with one square test zone east of ``EDGE`` and one entry profile (dwell 180 s, 300 m)."""
    zones = [
        Zone(
            id="test_zone",
            name="Test Zone",
            kind=ZoneKind.WATCH_AREA,
            state="XX",
            geometry=shapely.box(EDGE, 15.0, EDGE + 1.0, 16.0),
        )
    ]
    path = tmp / "profiles.toml"
    path.write_text(PROFILE)
    profiles = load_profiles(path, zones)

    def make() -> Core:
        core = fresh_core(1)
        core.zones = zones
        core.pipeline = Pipeline(zones, profiles, PipelineConfig(dwell_s=180.0, hysteresis_m=300.0))
        return core

    return make


def test_fence_dwell_confirms_an_entry_after_180_s_however_cut(tmp_path: Path) -> None:
    lines, d_in, d_met, _h_in, _h_met = fence_lines()
    check_fires_when_met(
        zone_core(tmp_path),
        lines,
        "zone_entry",
        str(DWELL_MMSI),
        alert_time=d_in,  # the crossing, confirmed 180 s later
        met=d_met,
        cut_inside=(d_in + 5.0, d_met - 5.0),
    )


def test_fence_hysteresis_confirms_an_entry_300_m_inside_however_cut(tmp_path: Path) -> None:
    lines, _d_in, _d_met, h_in, h_met = fence_lines()
    check_fires_when_met(
        zone_core(tmp_path),
        lines,
        "zone_entry",
        str(HYST_MMSI),
        alert_time=h_in,
        met=h_met,
        cut_inside=(h_in - 1.0, h_met - 1.0),
    )


@pytest.mark.parametrize("every", [0, 7, 1])  # uncut, 7 lines a chunk, one line at a time
def test_boundary_jitter_never_enters_however_cut(tmp_path: Path, every: int) -> None:
    """100 m either side of the edge, a side for one minute at a time: no entry, whatever the cut.

    Stepping every minute, the track's minute back on its confirmed side must cancel the pending
    entry; else its next minute inside would confirm an entry begun three minutes before."""
    lines, *_ = fence_lines()
    out, hits = run_cut(zone_core(tmp_path)(), lines, list(range(0, len(lines), every)) if every else [])
    assert {a.track.id for _w, a in hits if a.category == "zone_entry"} == {str(DWELL_MMSI), str(HYST_MMSI)}


# -- the slow pair and the silent vessel, cut in the middle of each condition ----------------------


@pytest.mark.parametrize(
    "category,start,met",
    [
        ("close_rendezvous", T0, T0 + 1800.0),  # 250 m for 30 min
        ("encounter", T0, T0 + 7200.0),  # 500 m for 2 h
        ("loitering", T0, T0 + 4 * 3600.0),  # under 2 kn for 4 h, far from shore
        ("ais_gap", T0 + 1080.0, T0 + 1080.0 + 6 * 3600.0),  # silent 6 h after its last report
    ],
)
def test_vessel_duration_conditions_cut_in_their_middle(category: str, start: float, met: float) -> None:
    lines = duration_scenario().splitlines(keepends=True)
    ref, ref_hits = run_cut(fresh_core(1), lines, [])
    first = next((w, a) for w, a in ref_hits if a.category == category and a.version == 1)
    for cut_t in (start + (met - start) / 2, met - 90.0):
        cut = next(i for i, ln in enumerate(lines) if (line_time(ln) or 0.0) > cut_t)
        out, hits = run_cut(fresh_core(1), lines, [cut])
        assert out == ref, f"cut at {cut_t - T0:.0f} s changed the alerts"
        wm, alert = next((w, a) for w, a in hits if a.category == category and a.version == 1)
        assert alert.id == first[1].id and alert.time == pytest.approx(met, abs=130.0)
        # the step of the condition (check interval 60 s, step 60 s, a report every 120 s)
        assert met - 130.0 <= wm <= met + 60.0 + 60.0 + 120.0 + 10.0, wm - met
