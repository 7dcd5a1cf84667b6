"""``mdacentre zones learn FILE...``: learn stopping places and receiver coverage from decoded AIS archives.

Reads MarineCadastre day files (CSV, plain or gzipped; the columns MMSI, BaseDateTime, LAT, LON,
SOG, COG, VesselName, VesselType and optionally Length and TransceiverClass), keeps the reports
inside ``--start``/``--end`` when given, and writes ``<out>/<name>.json`` (see
:mod:`mdacentre.core.context`). The ``SOURCES.md`` of the output folder gets one line per learned
file naming its inputs. The archive readers of ``mdacentre replay`` can replace this reader once
they read the same formats.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mdacentre.core.context import default_context_dir, save_area
from mdacentre.core.learn import learn_area
from mdacentre.model.batch import Batch, TrackKind, empty_positions, empty_statics, make_key
from mdacentre.model.errors import ConfigError

REQUIRED = ("MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _floats(values: tuple[str, ...] | list[str], fill: str = "nan") -> np.ndarray:
    return np.asarray([v if v else fill for v in values], dtype=np.float64)


def read_marinecadastre(path: Path) -> Batch:
    """A MarineCadastre CSV as one position batch and one static batch (one static per vessel-hour)."""
    try:
        with _text(path) as fh:
            rd = csv.reader(fh)
            head = next(rd)
            cols = list(zip(*rd, strict=False))
    except (OSError, StopIteration, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise ConfigError(f"{path}: cannot read as a MarineCadastre CSV ({exc!r})") from None
    missing = [c for c in REQUIRED if c not in head]
    if missing:
        raise ConfigError(f"{path}: not a MarineCadastre CSV, columns {missing} missing (header {head[:12]})")
    col = {n: cols[i] if cols else () for i, n in enumerate(head)}
    n = len(col["MMSI"])
    try:
        mmsi = np.asarray(col["MMSI"], dtype=np.int64)
        t = np.asarray(col["BaseDateTime"], dtype="datetime64[s]").astype(np.int64).astype(np.float64)
        lat, lon = _floats(col["LAT"]), _floats(col["LON"])
        sog, cog = _floats(col["SOG"]), _floats(col["COG"])
    except ValueError as exc:
        raise ConfigError(f"{path}: malformed value ({exc})") from None
    pos = empty_positions(n)
    pos["ident"], pos["t"] = mmsi, t
    good = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    pos["lat"] = np.where(good, lat, np.nan)
    pos["lon"] = np.where(good, lon, np.nan)
    pos["sog"] = np.where((sog >= 0) & (sog < 102.25), sog, np.nan)  # 102.3: not available
    pos["cog"] = np.where((cog >= 0) & (cog < 360.0), cog, np.nan)
    cls_b = np.asarray(col.get("TransceiverClass", ("",) * n)) == "B"
    pos["msg_type"] = np.where(cls_b, 18, 1)
    hour = (t // 3600).astype(np.int64)
    _u, first = np.unique(np.stack([mmsi, hour]), axis=1, return_index=True)
    st = empty_statics(len(first))
    st["ident"], st["t"] = mmsi[first], t[first]
    if "VesselName" in col:
        st["name"] = np.asarray(col["VesselName"])[first]
    if "VesselType" in col:
        vt = _floats(np.asarray(col["VesselType"])[first].tolist(), "-1")
        st["ship_type"] = np.where((vt >= 0) & (vt <= 99), vt, -1).astype(np.int64)
    if "Length" in col:
        st["length_m"] = _floats(np.asarray(col["Length"])[first].tolist())
    for a in (pos, st):
        a["kind"] = TrackKind.VESSEL
        a["key"] = make_key(TrackKind.VESSEL, a["ident"])
    return Batch(positions=pos, statics=st)


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
    parts = [read_marinecadastre(f).positions for f in files]
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


def add_parser(zsub: argparse._SubParsersAction) -> None:
    zl = zsub.add_parser("learn", help="learn stopping places and receiver coverage from AIS archives")
    zl.add_argument("files", nargs="+", help="MarineCadastre CSV files (.csv or .csv.gz)")
    zl.add_argument("--name", required=True, help="area name: the output is <out>/<name>.json")
    zl.add_argument("--out", help="output folder (default geofences/context)")
    zl.add_argument("--start", help="only reports at or after this ISO time (UTC)")
    zl.add_argument("--end", help="only reports before this ISO time (UTC)")


def run(args: argparse.Namespace) -> dict[str, object]:
    out = Path(args.out) if args.out else default_context_dir()
    return learn([Path(f) for f in args.files], args.name, out, args.start, args.end)
