"""ADS-B / Mode S decoding rate: the service's decoder against pyModeS 3 and rs1090, same messages, same process.

Run ``python -m mdacentre.cli.bench_adsb [copies]`` (or ``mdacentre bench``, which includes it).
The messages are every raw Mode S frame of the real recordings in ``../shared/data/adsb``: the
pyModeS ADS-B sample, its DF20 and DF21 Comm-B samples and the dump1090 Beast capture (12,239
frames), repeated ``copies`` times with the times shifted by the recordings' span per copy so
that each copy is new traffic to a stateful decoder.

* core: :meth:`mdacentre.decode.adsb.ModeSDecoder.decode_messages` on chunks of 4,096 frames,
  one fresh decoder per run: fields, CPR pairs, positions and static rows, as the service runs it;
* pyModeS 3: ``pyModeS.decode(messages, timestamps=...)``, its batch mode (a ``PipeDecoder`` that
  pairs CPR frames and keeps per-aircraft state);
* rs1090: ``rs1090.decode(messages, timestamps)``, its batch mode with CPR pairing (Rust).

Each figure is the best of ``reps`` runs, timed in CPU time of the process (``time.process_time``,
as the rest of ``mdacentre bench``: other work on a shared machine is not charged, and a library
that uses several threads is charged for all of them). The number of positions each gives is reported next to
its rate, to show the three did comparable work. A library that is not installed is reported as
missing (rs1090 is not a dependency: ``pip install rs1090``).
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mdacentre.decode.adsb import BeastFramer, ModeSDecoder
from mdacentre.runtime.settings import repo_root

ADSB_DIR = repo_root().parent / "shared" / "data" / "adsb"
CHUNK = 4096


def load_messages() -> tuple[list[str], list[float]]:
    """Hex frames and their times from every shared recording with raw Mode S (empty if none is there)."""
    msgs: list[str] = []
    times: list[float] = []
    for name, hex_col in (
        ("pymodes_sample_data_adsb.csv", 1),
        ("pymodes_sample_data_commb_df20.csv", 2),
        ("pymodes_sample_data_commb_df21.csv", 2),
    ):
        path = ADSB_DIR / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                msgs.append(row[hex_col].strip().upper())
                times.append(float(row[0]))
    beast = ADSB_DIR / "traffic_sample_dump1090_beast.bin"
    if beast.is_file():
        frames = BeastFramer().feed(beast.read_bytes())
        t0 = times[-1] if times else 0.0
        for row, nb in zip(frames.frames, frames.nbytes.tolist(), strict=True):
            msgs.append(row[:nb].tobytes().hex().upper())
            times.append(t0)
    return msgs, times


def _repeat(msgs: list[str], times: list[float], copies: int) -> tuple[list[str], list[float]]:
    span = (max(times) - min(times) + 3600.0) if times else 0.0
    out_t: list[float] = []
    for k in range(copies):
        out_t.extend(t + k * span for t in times)
    return msgs * copies, out_t


def _core(msgs: list[str], times: list[float]) -> int:
    dec = ModeSDecoder()
    t = np.asarray(times, dtype=np.float64)
    n = 0
    for lo in range(0, len(msgs), CHUNK):
        n += len(dec.decode_messages(msgs[lo : lo + CHUNK], t[lo : lo + CHUNK]).positions)
    return n


def _pymodes(msgs: list[str], times: list[float]) -> int:
    import pyModeS  # optional: the bench baseline, not a dependency of the service

    out = pyModeS.decode(msgs, timestamps=times)
    return sum(1 for d in out if d.get("latitude") is not None)


def _rs1090(msgs: list[str], times: list[float]) -> int:
    import rs1090  # optional: the bench baseline, not a dependency of the service

    out = rs1090.decode(msgs, times)
    return sum(1 for d in out if "latitude" in d)


def _best(
    fn: Callable[[list[str], list[float]], int], msgs: list[str], times: list[float], reps: int
) -> tuple[float, int]:
    best, found = float("inf"), 0
    for _ in range(reps):
        t0 = time.process_time()
        found = fn(msgs, times)
        best = min(best, time.process_time() - t0)
    return len(msgs) / best, found


def bench_adsb(copies: int = 1, reps: int = 1) -> dict[str, Any]:
    """Messages/s of the three decoders on the same messages, and the core's ratio to each."""
    base, base_t = load_messages()
    if not base:
        return {"adsb_messages": 0.0}
    msgs, times = _repeat(base, base_t, copies)
    res: dict[str, Any] = {"adsb_messages": float(len(msgs))}
    core, res["adsb_positions_core"] = _best(_core, msgs, times, reps)
    res["adsb_msgs_per_s_core"] = round(core)
    for name, fn in (("pymodes", _pymodes), ("rs1090", _rs1090)):
        try:
            rate, found = _best(fn, msgs, times, reps)
        except ImportError:
            res[f"adsb_msgs_per_s_{name}"] = None  # not installed
            continue
        res[f"adsb_msgs_per_s_{name}"] = round(rate)
        res[f"adsb_positions_{name}"] = found
        res[f"adsb_ratio_vs_{name}"] = round(core / rate, 2)
    return res


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    copies = int(args[0]) if args else 5
    print(json.dumps(bench_adsb(copies, reps=3), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
