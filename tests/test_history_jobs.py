"""Long history jobs: a replay recorded twice is archived once, and replay, backtest and export show
progress on stderr when it is a terminal (a real pseudo-terminal) or when ``--progress`` forces it."""

from __future__ import annotations

import fcntl
import os
import shutil
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from mdacentre.model.batch import empty_positions, make_key
from mdacentre.runtime.settings import repo_root
from mdacentre.sinks.archive.schema import Table, positions_table
from mdacentre.sinks.archive.writer import ArchiveWriter

REPO = repo_root()
DEMO = [
    str(REPO / "feeds" / "demo" / "caribbean_ais.nmea"),
    str(REPO / "feeds" / "demo" / "caribbean_sbs.txt"),
]
TABLES = [t.value for t in Table]


def _mda(*args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mdacentre", *args],
        capture_output=True,
        check=True,
        timeout=600,
        **kw,  # type: ignore[arg-type]
    )


def _counts(data: Path) -> dict[str, int]:
    root = data / "history"
    return {
        t: ds.dataset(root / t, format="parquet", partitioning="hive").count_rows()
        if (root / t).is_dir()
        else 0
        for t in TABLES
    }


@pytest.fixture(scope="module")
def once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("jobs") / "var"
    _mda("replay", *DEMO, "--data-dir", str(data), "--out", os.devnull)
    return data


def test_a_replay_recorded_twice_is_archived_once(once: Path, tmp_path: Path) -> None:
    first = _counts(once)
    assert first["positions"] > 40_000 and first["alerts"] > 0 and first["events"] > 0
    twice = tmp_path / "var"
    shutil.copytree(once, twice)
    _mda("replay", *DEMO, "--data-dir", str(twice), "--out", os.devnull)
    assert _counts(twice) == first
    pos = ds.dataset(twice / "history" / "positions", format="parquet", partitioning="hive").to_table(
        columns=["key", "t", "msg_type", "lat", "lon"]
    )
    assert pos.group_by(["key", "t", "msg_type", "lat", "lon"]).aggregate([]).num_rows == pos.num_rows


def _positions(n: int, t0: float = 1.7682e9) -> np.ndarray:
    p = empty_positions(n)
    ident = 200_000_000 + np.arange(n) % 7
    p["kind"], p["ident"], p["key"] = 1, ident, make_key(1, ident)
    p["t"] = t0 + np.arange(n, dtype=np.float64) * 0.5
    p["lat"], p["lon"], p["sog"] = 15.0, -70.0 + np.arange(n) * 1e-4, np.nan  # NaN speeds compare equal
    return p


def test_a_replay_after_a_crashed_one_keeps_every_record_once(tmp_path: Path) -> None:
    pos = _positions(5000)
    crashed = ArchiveWriter(tmp_path, flush_s=60)
    crashed.put(Table.POSITIONS, positions_table(pos[:3000]))
    crashed.flush()  # small files written, never merged: the process died here
    again = ArchiveWriter(tmp_path, flush_s=60)
    again.put(Table.POSITIONS, positions_table(pos))
    same_time = pos[:10].copy()
    same_time["lat"] += 0.5  # another report of the same tracks at the same times: kept
    again.put(Table.POSITIONS, positions_table(same_time))
    again.close()
    got = ds.dataset(tmp_path / "positions", format="parquet", partitioning="hive").to_table()
    assert got.num_rows == 5010 and again.duplicates_dropped == 3000
    keys = got.column("key").to_numpy()
    assert (np.diff(keys) >= 0).all()  # still sorted by track for track queries


# -- progress on stderr ----------------------------------------------------------------------------


def _on_terminal(args: list[str]) -> tuple[int, str]:
    """Run ``mdacentre args`` with stderr on a pseudo-terminal; (exit status, what the terminal got)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # 40 rows, 160 columns
    got: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            got.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mdacentre", *args],
            stdout=subprocess.DEVNULL,
            stderr=slave,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )
    finally:
        os.close(slave)
    reader.join(timeout=30)
    os.close(master)
    return proc.returncode, b"".join(got).decode(errors="replace")


def test_backtest_shows_a_progress_bar_on_a_terminal_and_lines_in_a_pipe(once: Path) -> None:
    args = ["backtest", "--profiles", str(REPO / "geofences" / "profiles.toml"), "--data-dir", str(once)]
    rc, tty = _on_terminal(args)
    assert rc == 0
    assert "backtest" in tty and "2/2" in tty and "100%" in tty and "candidate 2026-01-15" in tty
    piped = _mda(*args).stderr.decode()
    assert "%|" not in piped and "backtest candidate: day 2026-01-15 (1/1)" in piped


def test_export_progress_on_a_terminal_when_forced_and_never_in_stdout(once: Path, tmp_path: Path) -> None:
    args = ["history", "export", "--bbox=-80,10,-60,20", "--format", "csv", "--data-dir", str(once)]
    quiet = _mda(*args)
    assert "%|" not in quiet.stderr.decode()
    forced = _mda(*args, "--progress")
    err = forced.stderr.decode()
    assert "export" in err and "100%" in err and "bytes of csv" in err
    assert forced.stdout == quiet.stdout and b"%|" not in forced.stdout
    rc, tty = _on_terminal([*args, "--out", str(tmp_path / "x.csv")])
    assert rc == 0 and "100%" in tty and (tmp_path / "x.csv").read_bytes() == quiet.stdout


def test_replay_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    rec = tmp_path / "part.nmea"
    with open(DEMO[0], "rb") as fh:
        rec.write_bytes(b"".join(fh.readline() for _ in range(20000)))
    rc, tty = _on_terminal(["replay", str(rec), "--no-archive", "--out", os.devnull])
    assert rc == 0 and "replay" in tty and "100%" in tty and "lines" in tty
