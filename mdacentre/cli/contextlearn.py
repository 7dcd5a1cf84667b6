"""``mdacentre zones learn FILE...``: learn stopping places and receiver coverage from decoded AIS archives.

Reads the archives ``mdacentre replay`` reads (MarineCadastre CSV or GeoParquet, Danish Maritime
Authority CSV; :func:`mdacentre.decode.archives.read_archive`), keeps the reports inside
``--start``/``--end`` when given, and writes ``<out>/<name>.json`` (see
:mod:`mdacentre.core.context`). The ``SOURCES.md`` of the output folder gets one line per learned
file naming its inputs.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mdacentre.core.context import default_context_dir, save_area
from mdacentre.core.learn import learn_area
from mdacentre.decode.archives import read_archive
from mdacentre.model.batch import TrackKind, empty_positions
from mdacentre.model.errors import ConfigError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        d = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not an ISO time such as 2020-01-01T12:00:00") from None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()


def learn(
    files: list[Path], name: str, out_dir: Path, start: str | None = None, end: str | None = None
) -> dict[str, object]:
    """Learn one area from ``files`` and write it; a summary for the command line."""
    if not NAME_RE.match(name):
        raise ConfigError(f"area name {name!r}: use lower-case letters, digits, '-' and '_'")
    t0, t1 = _time(start), _time(end)
    parts = []
    for f in files:
        b = read_archive(f)
        parts.append(b.positions[b.positions["kind"] == int(TrackKind.VESSEL)])
    pos = np.concatenate(parts) if parts else empty_positions()
    keep = np.ones(len(pos), dtype=bool)
    if t0 is not None:
        keep &= pos["t"] >= t0
    if t1 is not None:
        keep &= pos["t"] < t1
    pos = pos[keep]
    window = f" {start or ''}..{end or ''}" if (start or end) else ""
    area = learn_area(name, pos, [f.name + window for f in files])
    out = out_dir / f"{name}.json"
    size = save_area(area, out)
    _note_source(out_dir, out.name, [f.name for f in files], window)
    return {
        "file": str(out),
        "bytes": size,
        "positions": int(len(pos)),
        "vessels": int(len(np.unique(pos["key"]))) if len(pos) else 0,
        "stop_cells": int(len(area.stop_codes)),
        "stop_cells_3_vessels": int((area.stop_vessels >= 3).sum()),
        "wait_cells": int(len(area.wait_codes)),
        "coverage_cells": int(len(area.cov_codes)),
    }


def _note_source(out_dir: Path, out_name: str, inputs: list[str], window: str) -> None:
    """Name the inputs of ``out_name`` in the folder's SOURCES.md (its line replaced in place, or appended)."""
    src = out_dir / "SOURCES.md"
    line = f"- `{out_name}`: learned with `mdacentre zones learn` from {', '.join(inputs)}{window}"
    head = ["# Sources of the learned context", ""]
    lines = src.read_text(encoding="utf-8").splitlines() if src.is_file() else head
    mine = [i for i, ln in enumerate(lines) if ln.startswith(f"- `{out_name}`:")]
    if mine:
        lines[mine[0]] = line
        lines = [ln for i, ln in enumerate(lines) if i not in mine[1:]]
    else:
        lines.append(line)
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")


def add_parser(zsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    zl = zsub.add_parser("learn", help="learn stopping places and receiver coverage from AIS archives")
    zl.add_argument("files", nargs="+", help="MarineCadastre CSV/GeoParquet or DMA CSV archives (.gz ok)")
    zl.add_argument("--name", required=True, help="area name: the output is <out>/<name>.json")
    zl.add_argument("--out", help="output folder (default geofences/context)")
    zl.add_argument("--start", help="only reports at or after this ISO time (UTC)")
    zl.add_argument("--end", help="only reports before this ISO time (UTC)")


def run(args: argparse.Namespace) -> dict[str, object]:
    out = Path(args.out) if args.out else default_context_dir()
    return learn([Path(f) for f in args.files], args.name, out, args.start, args.end)
