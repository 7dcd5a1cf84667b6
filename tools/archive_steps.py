"""Wall and CPU time of the pipeline's steps (``Core.step``) with and without the history archive.

Decodes the AMSA recording repeated to ``--lines`` once, then times only the steps, for the archive
off, on with the default 5 s flush (the writer mostly idle during the run) and on with a 0.5 s flush
(the writer busy beside the pipeline: its Python work holds the GIL)::

    nice -n 5 python -m tools.archive_steps --lines 1000000 --runs 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mdacentre.cli.bench import _repeat, _sample_lines
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.recordings import read_chunks
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import load_settings
from mdacentre.service.core import Core


def once(path: Path, data_dir: Path, archive: bool, flush_s: float) -> tuple[float, float]:
    s = load_settings(None, env={})
    s = replace(s, data_dir=data_dir, archive=replace(s.archive, enabled=archive, flush_s=flush_s))
    core = Core(
        s, [FeedSpec("bench", FeedKind.AIS, Transport.FILE, path=str(path))], Metrics(), archive=archive
    )
    batches = [core.decode([c]) for c in read_chunks(path, 0, 1.6e9)]
    wall = 0.0
    th0 = time.thread_time()
    for b in batches:
        t = time.perf_counter()
        core.step(b)
        wall += time.perf_counter() - t
    cpu = time.thread_time() - th0
    core.close()
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "replay.nmea"
        path.write_bytes(_repeat(_sample_lines(), a.lines))
        res: dict[str, list[float]] = {}
        for r in range(a.runs):
            for label, arch, flush in (
                ("off", False, 5.0),
                ("on_flush_5s", True, 5.0),
                ("on_flush_0.5s", True, 0.5),
            ):
                wall, cpu = once(path, Path(tmp) / f"var-{label}-{r}", arch, flush)
                res.setdefault(f"{label}_steps_wall_s", []).append(round(wall, 3))
                res.setdefault(f"{label}_steps_cpu_s", []).append(round(cpu, 3))
    print(json.dumps({k: min(v) for k, v in res.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
