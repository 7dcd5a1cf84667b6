"""`mdacentre replay` on real recordings: every vessel with a position that pyais finds is in the picture."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from pyais.stream import FileReaderStream

POSITION_TYPES = {1, 2, 3, 4, 9, 11, 18, 19, 21, 27}


def pyais_mmsis_with_position(path: Path) -> set[int]:
    out: set[int] = set()
    for msg in FileReaderStream(str(path)):
        try:
            d = msg.decode().asdict()
        except Exception:  # pyais refuses malformed real lines; so do we (counted)
            continue
        if d.get("msg_type") not in POSITION_TYPES:
            continue
        lat, lon = d.get("lat"), d.get("lon")
        if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        if abs(lat) > 90 or abs(lon) > 180:
            continue
        out.add(int(d["mmsi"]))
    return out


def test_replay_amsa_keeps_every_mmsi_with_a_position(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "ais" / "amsa_risky_ais.txt"
    out, summary = tmp_path / "alerts.jsonl", tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, "-m", "mdacentre", "replay", str(src), "--out", str(out), "--summary", str(summary)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads(summary.read_text())
    expected = pyais_mmsis_with_position(src)
    assert s["mmsis_with_position"] == len(expected), (s["mmsis_with_position"], len(expected))
    # Every line is accounted for: nothing vanished without a reason.
    assert s["lines"] == sum(1 for _ in src.open("rb"))
    assert sum(s["rejects"].values()) > 0  # the recording holds real garbage, and it is counted
    for line in out.read_text().splitlines():
        json.loads(line)
