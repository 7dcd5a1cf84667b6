"""The guarded watermark, late reports, and what a feed's health says about them."""

from __future__ import annotations

import orjson
from conftest import position
from timecuts import fresh_core, without_online_reception

from mdacentre.alerting.alerts import AlertStatus
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.sources import Chunk, FeedSource
from mdacentre.model.batch import empty_positions
from mdacentre.runtime.metrics import Metrics
from mdacentre.service.core import Core
from mdacentre.service.pipeline import StepResult
from mdacentre.service.timeline import FeedState, feed_state
from mdacentre.service.watermark import ClockCheck, ClockReject, FeedGuard, GuardConfig
from mdacentre.service.wiring import feed_health_json

T0 = 1767225600.0  # 2026-01-01T00:00:00Z
SEA = (15.0, -71.0)  # central Caribbean Sea, no territorial sea, no port approach
MMSI_QUIET, MMSI_BUSY = 311000111, 311000222


def lines(*groups: list[str]) -> bytes:
    return b"".join(s.encode() + b"\n" for g in groups for s in g)


def run_all(core: Core, data: list[bytes]) -> list[StepResult]:
    out: list[StepResult] = []
    for d in data:
        out += core.ingest([Chunk(0, d, T0)])
    return out + core.finish_feed(0) + core.flush()


def busy_until(t_end: float, every: float = 300.0, mmsi: int = MMSI_BUSY) -> list[list[str]]:
    lat, lon = SEA
    n = int((t_end - T0) / every)
    return [position(mmsi, lat + 0.3, lon + 0.001 * i, T0 + i * every, 8.0, 90.0) for i in range(n)]


def test_one_line_dated_2100_expires_nothing_evicts_nothing() -> None:
    core = without_online_reception(fresh_core(1))
    lat, lon = SEA
    quiet = [position(MMSI_QUIET, lat, lon + 0.001 * i, T0 + 60 * i, 8.0, 90.0) for i in range(10)]
    traffic = busy_until(T0 + 7 * 3600)  # the quiet vessel's 6 h gap opens
    bad = position(311000999, lat, lon, 4102444800.0)  # 2100-01-01
    later = busy_until(T0 + 9 * 3600)[len(traffic) :]
    results = run_all(core, [lines(*quiet, *traffic[:20]), lines(bad), lines(*traffic[20:]), lines(*later)])
    alerts = [a for r in results for a in r.alerts]
    assert not [a for a in alerts if a.status == AlertStatus.EXPIRED]
    assert max(r.watermark for r in results) < T0 + 10 * 3600
    assert sum(len(r.evicted) for r in results) == 0
    assert core.pipeline.table.lookup([(1 << 32) | 311000999])[0] < 0  # no track of 2100
    gaps = [a for a in alerts if a.category == "ais_gap" and a.status == AlertStatus.OPEN]
    assert gaps and gaps[0].time < T0 + 8 * 3600  # the picture kept moving after the bad line
    assert core.metrics.by_label("mda_rejects_total", "reason") == {ClockReject.AHEAD_OF_FEED.value: 1.0}
    assert 'reason="time_ahead_of_feed"' in core.metrics.prometheus()


def test_c0_is_not_a_track_of_1970() -> None:
    core = fresh_core(1)
    lat, lon = SEA
    run_all(core, [lines(*busy_until(T0 + 3600), position(311000998, lat, lon, 0.0))])
    assert core.pipeline.table.lookup([(1 << 32) | 311000998])[0] < 0
    assert core.metrics.by_label("mda_rejects_total", "reason") == {ClockReject.BEFORE_FLOOR.value: 1.0}


def test_a_real_jump_is_followed_once_confirmed() -> None:
    """A recording that resumes 10 h later is not refused: three reports in a row confirm the jump."""
    g = FeedGuard(GuardConfig(), ClockCheck.FEED)
    a = empty_positions(6)
    a["t"] = [T0, T0 + 10, T0 + 20, T0 + 36000, T0 + 36010, T0 + 36020]
    a["lat"], a["lon"] = 15.0, -71.0
    from mdacentre.model.batch import Batch

    out = g.check(Batch(positions=a[:4]), 0.0).positions
    assert list(out["t"]) == [T0, T0 + 10, T0 + 20] or len(out) == 0  # first three anchor the clock
    out2 = g.check(Batch(positions=a[4:]), 0.0).positions
    assert T0 + 36020 in list(out2["t"]) and T0 + 36000 in list(out2["t"])
    assert not g.rejects


def test_live_wall_check_refuses_times_ahead_of_the_wall_clock() -> None:
    from mdacentre.model.batch import Batch

    g = FeedGuard(GuardConfig(max_ahead_s=300), ClockCheck.WALL)
    a = empty_positions(3)
    a["t"] = [T0 - 5, T0 + 3600, 4102444800.0]
    out = g.check(Batch(positions=a), wall=T0).positions
    assert list(out["t"]) == [T0 - 5]
    assert g.rejects == {ClockReject.AHEAD_OF_WALL: 2}


def test_late_reports_filling_a_gap_retract_its_alert() -> None:
    """A gap opened while the vessel seemed silent is retracted when its late reports arrive
    (as a satellite provider's delayed AIS withdraws a 'dark' event)."""
    core = without_online_reception(fresh_core(1))
    lat, lon = SEA
    quiet = [position(MMSI_QUIET, lat, lon + 0.001 * i, T0 + 60 * i, 8.0, 90.0) for i in range(10)]
    traffic = busy_until(T0 + 8 * 3600)
    # the quiet vessel's reports during its "silence", delivered hours late
    late = [position(MMSI_QUIET, lat, lon + 0.01 * k, T0 + 600 + 1800 * k, 8.0, 90.0) for k in range(1, 15)]
    results = run_all(core, [lines(*quiet, *traffic), lines(*late)])
    gap = [a for r in results for a in r.alerts if a.category == "ais_gap"]
    assert [a.status for a in gap] == [AlertStatus.OPEN, AlertStatus.RETRACTED], [a.status for a in gap]
    assert gap[1].id == gap[0].id and gap[1].version == 2
    assert "late reports filled the silence" in gap[1].reasons[-1]
    assert core.metrics.total("mda_late_reports_total") >= len(late)
    orjson.dumps(gap[1].to_json())


def test_feed_whose_lines_are_all_dropped_is_not_up() -> None:
    import asyncio

    metrics = Metrics()
    spec = FeedSpec("ais-bad", FeedKind.AIS, Transport.TCP_CLIENT, host="127.0.0.1", port=1)
    src = FeedSource(0, spec, asyncio.Queue(), metrics)
    src.health.connected = True
    d = feed_health_json([src], metrics, {"ais-bad": 134.0}, {"ais-bad": 0.0})[0]
    assert d["state"] == "dropping" and d["records_used_per_s"] == 0.0
    d = feed_health_json([src], metrics, {"ais-bad": 134.0}, {"ais-bad": 120.0})[0]
    assert d["state"] == "up"
    assert feed_state(False, 10.0, 10.0) == FeedState.DOWN
    assert feed_state(True, 0.0, 0.0) == FeedState.IDLE
