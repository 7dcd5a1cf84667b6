"""Measure what the history archive loses on SIGKILL.

A child process replays the demo AIS feed through the service core at ``--speed`` times real
time with the archive on, printing after every step how many positions it has handed to the
archive. The parent kills it with SIGKILL after ``--after`` seconds, then counts the positions
that are in the archive (every visible file must read whole) and reports the difference, in
positions and in seconds of wall clock at that feed rate::

    python -m tools.archive_kill --speed 300 --after 20 --flush 5 --runs 3
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mdacentre.runtime.settings import repo_root

DEMO = repo_root() / "feeds" / "demo" / "caribbean_ais.nmea"


def child(data_dir: Path, speed: float, flush_s: float) -> None:
    from dataclasses import replace

    import numpy as np

    from mdacentre.decode.recordings import first_event_time
    from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
    from mdacentre.ingest.recordings import read_chunks
    from mdacentre.ingest.sources import Chunk
    from mdacentre.runtime.metrics import Metrics
    from mdacentre.runtime.settings import load_settings
    from mdacentre.service.core import Core

    s = load_settings(None, env={})
    s = replace(s, data_dir=data_dir, archive=replace(s.archive, flush_s=flush_s))
    spec = FeedSpec("demo", FeedKind.AIS, Transport.FILE, path=str(DEMO))
    core = Core(s, [spec], Metrics(), archive=True)
    clock0 = first_event_time(DEMO, spec) or 0.0
    sent = 0
    wall0, t_first = time.monotonic(), None
    for ch in read_chunks(DEMO, 0, clock0, size=1 << 14):
        wm = core.pipeline.watermark
        batch = core.decode([Chunk(ch.feed, ch.data, wm if np.isfinite(wm) else clock0)])
        res = core.step(batch)
        pos = batch.positions
        sent += int((np.isfinite(pos["lat"]) & np.isfinite(pos["lon"]) & np.isfinite(pos["t"])).sum())
        print(json.dumps({"sent": sent, "wall": time.time()}), flush=True)
        if np.isfinite(res.watermark):
            t_first = res.watermark if t_first is None else t_first
            delay = wall0 + (res.watermark - t_first) / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    core.close()


def measure(speed: float, after: float, flush_s: float) -> dict[str, float]:
    import pyarrow.parquet as pq

    from mdacentre.sinks.archive.writer import recover

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "var"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.archive_kill", "--child", str(data), str(speed), str(flush_s)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=repo_root(),
        )
        assert proc.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
        reader.start()
        deadline = time.monotonic() + after + 60
        while not lines and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(after)
        proc.send_signal(signal.SIGKILL)
        killed = time.time()
        proc.wait(10)
        reader.join(10)
        lines = [ln for ln in lines if ln.strip()]
        last = json.loads(lines[-1])
        root = data / "history"
        files = sorted((root / "positions").glob("day=*/*.parquet"))
        archived = sum(pq.read_metadata(f).num_rows for f in files)  # raises on a partial file
        hidden = len(list(root.glob("*/day=*/.*.tmp")))
        recover(root)
        first = json.loads(lines[0])
        rate = last["sent"] / max(1e-9, last["wall"] - first["wall"])
        lost = last["sent"] - archived
        return {
            "positions_sent": float(last["sent"]),
            "positions_archived": float(archived),
            "positions_lost": float(lost),
            "seconds_lost_at_feed_rate": round(lost / rate, 2) if rate > 0 else 0.0,
            "feed_positions_per_s": round(rate, 1),
            "visible_files": float(len(files)),
            "hidden_temporary_files": float(hidden),
            "kill_after_s": round(killed - first["wall"], 2),
        }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(Path(argv[1]), float(argv[2]), float(argv[3]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", type=float, default=300.0)
    ap.add_argument("--after", type=float, default=20.0, help="seconds of replay before the kill")
    ap.add_argument("--flush", type=float, default=5.0, help="archive.flush_s")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    runs = [measure(a.speed, a.after + i * 1.7, a.flush) for i in range(a.runs)]
    for r in runs:
        print(json.dumps(r))
    print(json.dumps({"max_seconds_lost": max(r["seconds_lost_at_feed_rate"] for r in runs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
