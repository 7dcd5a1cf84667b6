"""A served replay (``mdacentre replay --serve``) records the history archive as the plain replay does,
also across a seek backward (the pass cut short is closed, the steps recorded again are kept once), and
records nothing with ``--no-archive``."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from conftest import REPO

from mdacentre.cli import replayserve
from mdacentre.cli.replay import run_replay
from mdacentre.cli.replayserve import OncePerStep, ReplayMapState, ServedReplay, recording_span
from mdacentre.runtime.settings import Settings
from mdacentre.service.replayclock import ClockState, ReplayClock

DEMO = REPO / "feeds" / "demo" / "caribbean_ais.nmea"
LINES = 6_000


@pytest.fixture(scope="module")
def part(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DEMO.is_file():
        pytest.skip("the demo recording is missing")
    p = tmp_path_factory.mktemp("served-archive") / "demo_part.nmea"
    p.write_bytes(b"".join(DEMO.read_bytes().splitlines(keepends=True)[:LINES]))
    return p


def rows(data: Path, table: str) -> int:
    root = data / "history" / table
    return ds.dataset(root, format="parquet", partitioning="hive").count_rows() if root.exists() else 0


def served(data: Path, part: Path, archive: bool, rewind: bool) -> None:
    start, end = recording_span([part])
    assert math.isfinite(start)
    clock = ReplayClock(1e5, start=start, end=end)
    if rewind:
        clock.pause()
    replay = ServedReplay(
        Settings(data_dir=data), [part], clock, ReplayMapState(), OncePerStep(None), archive=archive
    )
    replay.start()
    try:
        if rewind:  # forward to the middle, then back near the start: a second pass from the start
            clock.seek(start + (end - start) / 2)
            deadline = time.monotonic() + 60
            while clock.status().state != ClockState.PAUSED or clock.status().event_time < start + 600:
                assert time.monotonic() < deadline, "the forward seek did not finish"
                time.sleep(0.02)
            clock.seek(start + 300)
            while clock.status().passes < 2 or clock.status().state != ClockState.PAUSED:
                assert time.monotonic() < deadline, "the rewind did not finish"
                time.sleep(0.02)
            clock.resume()
        deadline = time.monotonic() + 120
        while clock.status().state != ClockState.FINISHED:
            assert time.monotonic() < deadline, "the served replay did not finish"
            time.sleep(0.05)
    finally:
        replay.stop()
    assert replay.error is None


def test_served_replay_records_the_archive_like_the_plain_replay(part: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    run_replay(Settings(data_dir=plain), [part], OncePerStep(None), archive=True)  # type: ignore[arg-type]
    want = {t: rows(plain, t) for t in ("positions", "statics", "alerts")}
    assert want["positions"] > 1000 and want["alerts"] > 0
    for rewind in (False, True):
        data = tmp_path / f"served-{rewind}"
        served(data, part, archive=True, rewind=rewind)
        assert {t: rows(data, t) for t in want} == want, f"rewind={rewind}"
    off = tmp_path / "off"
    served(off, part, archive=False, rewind=False)
    assert not (off / "history").exists() or rows(off, "positions") == 0


def test_no_archive_flag_turns_the_served_replay_recording_off(
    part: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve_replay`` hands ``not --no-archive`` to the replay (the web server is not started here)."""
    made: list[bool] = []

    class Stop(Exception):
        pass

    def fake_server(*_a: object, **_k: object) -> object:
        raise Stop

    real = replayserve.ServedReplay

    def capture(*a: object, archive: bool = False, **k: object) -> ServedReplay:
        made.append(archive)
        return real(*a, archive=archive, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(replayserve, "ServedReplay", capture)
    monkeypatch.setattr(replayserve.uvicorn, "Server", fake_server)
    settings = Settings(data_dir=tmp_path)
    for flag in (False, True):
        args = argparse.Namespace(files=[str(part)], format="auto", speed=60.0, out=None, no_archive=flag)
        with pytest.raises(Stop):
            replayserve.serve_replay(args, settings)
    assert made == [True, False]
