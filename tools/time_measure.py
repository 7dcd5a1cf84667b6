"""Measure what the time controls cost: a seek backward (rebuild to the target) and a past picture.

Prints CPU seconds of this process (``time.process_time``, all threads) for:

* the rebuild a seek backward makes: an unpaced replay of the first ``--lines`` lines of the demo
  recording (about two hours for 20,000 lines), the work done before the picture stands at the target;
* ``GET /api/picture``'s query over the archive of that replay: each track's last position in 30 min.

Usage::

    python -m tools.time_measure [--lines 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

from mdacentre.cli.replay import run_replay
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import JsonlSink
from mdacentre.service.flags import track_flags
from mdacentre.sinks.archive.picture import past_picture

DEMO = Path(__file__).resolve().parents[1] / "feeds" / "demo" / "caribbean_ais.nmea"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mda-time-measure-"))
    part = tmp / "part.nmea"
    part.write_bytes(b"".join(DEMO.read_bytes().splitlines(keepends=True)[: args.lines]))
    s = Settings(data_dir=tmp)
    t0 = time.process_time()
    run_replay(s, [part], JsonlSink(io.BytesIO()))  # as a served replay rebuilds: no archive
    rebuild = time.process_time() - t0
    run_replay(s, [part], JsonlSink(io.BytesIO()), archive=True)  # the archive the picture reads
    root = tmp / s.archive.dir
    times = []
    n = 0
    for i in range(args.repeat):
        t0 = time.process_time()
        doc = past_picture(root, 1768435200 + 3600 + 600 * i, 1800, flags=track_flags)
        times.append(time.process_time() - t0)
        n = len(doc["tracks"])
    print(f"rebuild for a seek backward: {args.lines:,} lines replayed unpaced in {rebuild:.2f} s CPU")
    print(f"past picture (30 min lookback, {n} tracks): median {statistics.median(times) * 1000:.0f} ms CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
