"""Benchmark: pyais line by line versus the vectorised fast path (:mod:`mdacentre.decode.ais.fast`).

Run ``python -m mdacentre.cli.bench_decode [target_lines]``. The input is the AMSA feed dump
(``amsa_risky_ais.txt`` in the shared data directory) repeated to about ``target_lines``
lines; without the shared data a small synthetic sample (:func:`fallback_lines`) is used.

* pyais baseline: ``FileReaderStream`` over a temporary file and ``.decode()`` on every
  message, the way a user would write it, timed on the first ``baseline_lines`` lines.
* fast path: :func:`~mdacentre.decode.ais.fast.decode_lines_fast` over chunks of ``chunk_lines``,
  all lines, including splitting the bytes into lines.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from pyais.encode import encode_dict
from pyais.exceptions import AISBaseException
from pyais.stream import FileReaderStream

from mdacentre.decode.ais.fast import decode_lines_fast
from mdacentre.ingest.framing import LineBuffer

_Fields = dict[str, str | int | float | bytes | bool]


def fallback_lines() -> list[bytes]:
    """A synthetic feed sample (made here with pyais' encoder) for when the shared data is missing.

    Mostly position reports, like a real feed, plus a two-part static message and a GPS line.
    """
    lines: list[bytes] = []
    for i in range(8):
        fields: _Fields = {
            "msg_type": 1 + i % 3,
            "mmsi": 366_000_000 + i,
            "lat": 18.0 + i / 7,
            "lon": -66.0 - i / 9,
        }
        lines += [s.encode() for s in encode_dict(fields, talker_id="AI", radio_channel="AB"[i % 2])]
    class_b: _Fields = {"msg_type": 18, "mmsi": 338_000_001, "lat": 17.5, "lon": -64.7, "speed": 6.1}
    lines += [s.encode() for s in encode_dict(class_b, talker_id="AI")]
    static: _Fields = {"msg_type": 5, "mmsi": 366_000_000, "shipname": "SAMPLE", "destination": "SAN JUAN"}
    lines += [s.encode() for s in encode_dict(static, talker_id="AI")]
    lines.append(b"$GPGGA,120000.00,1800.000,N,06600.000,W,1,08,1.0,5.0,M,-40.0,M,,*51")
    return lines


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def sample_path() -> Path:
    """Where the AMSA feed dump is expected (``<repo>/../shared/data/ais``)."""
    return _repo_root().parent / "shared" / "data" / "ais" / "amsa_risky_ais.txt"


def load_lines(target_lines: int) -> list[bytes]:
    """The sample lines repeated to ``target_lines`` (at least one copy)."""
    path = sample_path()
    base = LineBuffer.of_chunk(path.read_bytes()).lines() if path.is_file() else fallback_lines()
    copies = max(1, -(-target_lines // len(base)))
    return (base * copies)[: max(target_lines, 1)]


def pyais_rate(lines: list[bytes]) -> float:
    """Lines per second of FileReaderStream + decode() over ``lines`` written to a file."""
    fd, name = tempfile.mkstemp(suffix=".nmea")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\n".join(lines) + b"\n")
        begin = time.process_time()
        for msg in FileReaderStream(name):
            try:
                msg.decode()
            except (AISBaseException, ValueError):
                pass
        elapsed = time.process_time() - begin
    finally:
        os.unlink(name)
    return len(lines) / elapsed


def fast_rate(data: bytes, chunk_lines: int) -> tuple[float, float]:
    """(lines per second, handled share) of splitting into lines + decode_lines_fast over ``data``."""
    begin = time.process_time()
    lines = LineBuffer.of_chunk(data).lines()
    handled = 0
    for lo in range(0, len(lines), chunk_lines):
        result = decode_lines_fast(lines[lo : lo + chunk_lines], receive_time=0.0)
        handled += int(result.handled.sum())
    elapsed = time.process_time() - begin
    return len(lines) / elapsed, handled / max(len(lines), 1)


def run(
    target_lines: int = 1_000_000, baseline_lines: int = 100_000, chunk_lines: int = 50_000
) -> dict[str, float]:
    """Measure both decoders in this process and return lines/s, handled share and ratio."""
    lines = load_lines(target_lines)
    slow = pyais_rate(lines[:baseline_lines])
    fast, share = fast_rate(b"\n".join(lines) + b"\n", chunk_lines)
    return {
        "decode_lines_per_s_pyais": slow,
        "decode_lines_per_s_fast": fast,
        "fast_handled_share": share,
        "decode_ratio_fast_vs_pyais": fast / slow,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = int(args[0]) if args else 1_000_000
    print(json.dumps(run(target), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
