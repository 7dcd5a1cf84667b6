"""Time moves in event-time steps: the same recording cut any way gives byte-identical alerts.

Real recordings (a converted MarineCadastre day around Puerto Rico, a Caribbean NMEA selection)
and scenario data are cut at random line positions (hypothesis), into single lines, 40-line
files and 1 MiB chunks, and split into feeds interleaved in random order.
"""

from __future__ import annotations

import functools
from pathlib import Path

import orjson
import pytest
from conftest import SHARED, position
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from timecuts import fresh_core, marinecadastre_nmea, replay_cut, without_online_reception

from mdacentre.decode.recordings import first_event_time
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.sources import Chunk

PR_CSV = SHARED / "ais" / "marinecadastre_20200101_puerto_rico_usvi.csv"
CARIB = SHARED / "ais" / "derived_caribbean_box_selection.nmea"
HOURS = 3.0  # of the MarineCadastre day: zone entries and exits, silences


def _need_data() -> None:
    if not PR_CSV.is_file():
        pytest.skip(f"real recordings not found at {SHARED}")


@functools.cache
def pr_lines() -> tuple[bytes, ...]:
    groups = marinecadastre_nmea(PR_CSV, HOURS)
    return tuple(ln for g in groups for ln in g.splitlines(keepends=True))


@functools.cache
def pr_reference() -> bytes:
    return replay_cut([pr_lines()], [[]])


def _categories(out: bytes) -> set[str]:
    return {orjson.loads(x)["category"] for x in out.splitlines()}


def test_reference_replay_of_the_real_recording_has_alerts() -> None:
    _need_data()
    ref = pr_reference()
    cats = _categories(ref)
    # the slice raises alerts, so the property below compares something (with the current detector
    # rules few: silences; the scenario tests below cover encounters, rendezvous, loitering, gaps)
    assert cats and ref.count(b"\n") >= 2, (cats, ref.count(b"\n"))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_cuts_of_a_real_recording_give_identical_alerts(data: st.DataObject) -> None:
    _need_data()
    lines = pr_lines()
    n = len(lines)
    how = data.draw(st.sampled_from(["random", "every"]))
    if how == "random":
        cuts = data.draw(st.lists(st.integers(1, n - 1), max_size=400))
    else:
        k = data.draw(st.integers(20, 5000))  # single lines: the test below
        cuts = list(range(k, n, k))
    assert replay_cut([lines], [cuts]) == pr_reference()


def test_real_recording_one_line_at_a_time_and_in_byte_chunks() -> None:
    _need_data()
    lines = pr_lines()
    assert replay_cut([lines], [list(range(1, len(lines)))]) == pr_reference()
    for size in (1 << 16, 1 << 18):  # 64 KiB, and 256 KiB (what `replay` reads); lines are not split
        cuts, acc = [], 0
        for i, ln in enumerate(lines):
            acc += len(ln)
            if acc >= size:
                cuts.append(i)
                acc = 0
        assert cuts
        assert replay_cut([lines], [cuts]) == pr_reference()


def test_eight_hours_of_a_real_recording_in_1_mib_chunks() -> None:
    _need_data()
    lines = tuple(ln for g in marinecadastre_nmea(PR_CSV, 8.0) for ln in g.splitlines(keepends=True))
    cuts, acc = [], 0
    for i, ln in enumerate(lines):
        acc += len(ln)
        if acc >= 1 << 20:
            cuts.append(i)
            acc = 0
    assert len(cuts) >= 2
    ref = replay_cut([lines], [[]])
    assert ref.count(b"\n") > 20
    assert replay_cut([lines], [cuts]) == ref


@functools.cache
def pr_two_feeds() -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    groups = marinecadastre_nmea(PR_CSV, HOURS)
    a: list[bytes] = []
    b: list[bytes] = []
    for i, g in enumerate(groups):
        (a if (g.count(b"\n") == 1 and i % 3 == 0) else b).extend(g.splitlines(keepends=True))
    return tuple(a), tuple(b)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_two_feeds_interleaved_in_any_order_give_identical_alerts(data: st.DataObject) -> None:
    _need_data()
    fa, fb = pr_two_feeds()
    ref = replay_cut([fa, fb], [[], []])
    cuts = [
        data.draw(st.lists(st.integers(1, len(fa) - 1), max_size=200)),
        data.draw(st.lists(st.integers(1, len(fb) - 1), max_size=200)),
    ]
    order = data.draw(st.lists(st.integers(0, 1), max_size=450))
    assert replay_cut([fa, fb], cuts, order) == ref


def test_small_caribbean_recording_cut_anywhere() -> None:
    _need_data()
    lines = tuple(CARIB.read_bytes().splitlines(keepends=True))
    spec = FeedSpec("c", FeedKind.AIS, Transport.FILE, path=str(CARIB))
    t0 = first_event_time(CARIB, spec)
    assert t0 is not None
    ref = replay_cut([lines], [[]], receive_time=t0)
    for k in (1, 2, 7, 40):
        assert replay_cut([lines], [list(range(k, len(lines), k))], receive_time=t0) == ref


def test_replay_of_40_line_files_equals_the_whole_file(tmp_path: Path) -> None:
    """`mdacentre replay` of a recording cut into 40-line files gives the whole file's alerts."""
    _need_data()
    from mdacentre.cli.replay import run_replay
    from mdacentre.runtime.settings import load_settings
    from mdacentre.service.core import JsonlSink

    lines = pr_lines()[:12000]
    whole = tmp_path / "whole.nmea"
    whole.write_bytes(b"".join(lines))
    parts = []
    for i in range(0, len(lines), 40):
        p = tmp_path / f"part{i // 40:05d}.nmea"
        p.write_bytes(b"".join(lines[i : i + 40]))
        parts.append(p)
    outs = []
    for paths in ([whole], parts):
        with (tmp_path / "out.jsonl").open("wb") as fh:
            run_replay(load_settings(None, env={}), paths, JsonlSink(fh))
        outs.append((tmp_path / "out.jsonl").read_bytes())
    assert outs[0] and outs[0] == outs[1]


# -- scenario: the encounter the issue describes ---------------------------------------------------

T0 = 1767225600.0  # 2026-01-01T00:00:00Z
OPEN_SEA = (15.0, -71.0)  # central Caribbean Sea, far from any port approach


def encounter_lines(hours: float = 3.0, every_s: float = 120.0) -> list[bytes]:
    """Two vessels 100 m apart at 0.5 kn for ``hours`` in open water, plus a far-away third one."""
    out: list[bytes] = []
    lat, lon = OPEN_SEA
    n = int(hours * 3600 / every_s)
    for i in range(n):
        t = T0 + i * every_s
        dlat = i * every_s * 0.5 * 0.5144 / 111320.0  # drifting north at 0.5 kn
        for mmsi, dlon, sog in ((311000101, 0.0, 0.5), (311000202, 0.00093, 0.5), (311000303, 3.0, 11.0)):
            out.extend(
                s.encode() + b"\n" for s in position(mmsi, lat + dlat, lon + dlon, t + (mmsi % 7), sog, 0.0)
            )
    return out


QUIET = 311000404  # reports for 20 min, then falls silent in open water


def duration_scenario() -> bytes:
    """7 h in one chunk: the slow pair (encounter, close rendezvous, loitering) and a vessel gone dark."""
    lat, lon = OPEN_SEA
    quiet = [
        s.encode() + b"\n"
        for i in range(10)
        for s in position(QUIET, lat - 0.5, lon + 0.01 * i, T0 + 120 * i, 8.0, 90.0)
    ]
    from mdacentre.ingest.playback import line_time

    return b"".join(sorted(quiet + encounter_lines(hours=7.0), key=lambda ln: line_time(ln) or 0.0))


@pytest.mark.parametrize(
    "category,condition_met",
    [
        ("close_rendezvous", T0 + 1800.0),  # 250 m for 30 min
        ("encounter", T0 + 7200.0),  # 500 m for 2 h
        ("loitering", T0 + 4 * 3600.0),  # under 2 kn for 4 h, far from shore
        ("ais_gap", T0 + 1080.0 + 6 * 3600.0),  # silent 6 h at sea after its last report
    ],
)
def test_duration_detectors_fire_when_the_condition_is_met_inside_one_chunk(
    category: str, condition_met: float
) -> None:
    core = without_online_reception(fresh_core(1))
    results = core.ingest([Chunk(0, duration_scenario(), T0)])
    results += core.finish_feed(0) + core.flush()
    hits = [(r.watermark, a) for r in results for a in r.alerts if a.category == category and a.version == 1]
    assert hits, sorted({a.category for r in results for a in r.alerts})
    wm, alert = hits[0]
    assert alert.time == pytest.approx(condition_met, abs=130.0)
    # raised in the step in which the condition was met (detector check interval 60 s, one step
    # 60 s, one report interval 120 s), not at the end of the 7-hour chunk
    assert condition_met - 130.0 <= wm <= condition_met + 60.0 + 60.0 + 120.0 + 10.0, wm - condition_met


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 10_000), max_size=60))
def test_scenario_cut_anywhere_gives_identical_alerts(cuts: list[int]) -> None:
    lines = tuple(encounter_lines())
    ref = replay_cut([lines], [[]], receive_time=T0)
    assert b'"encounter"' in ref and b'"close_rendezvous"' in ref
    assert replay_cut([lines], [[c % len(lines) for c in cuts]], receive_time=T0) == ref
