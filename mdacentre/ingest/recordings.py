"""Recorded feeds on disk: which format a file holds, and its bytes as whole-line chunks."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from mdacentre.ingest.framing import LineFramer, read_lines
from mdacentre.ingest.sources import Chunk

FILE_FORMATS = ("auto", "ais", "sbs", "beast", "avr", "aircraft_json", "opensky", "readsb_trace")
# decoded AIS archives (rows of columns, not feed lines): read by mdacentre.decode.archives
ARCHIVE_FORMATS = ("marinecadastre", "geoparquet", "dma")


def sniff_archive(path: Path) -> str | None:
    """The archive format of a file from its magic bytes and header line, or None if it is no archive.

    Parquet files start with ``PAR1``; CSV files (plain or gzip, told by the gzip magic, not
    the name) by their header: MarineCadastre ``MMSI,BaseDateTime,...`` (any case, with or without
    underscores), Danish Maritime Authority ``# Timestamp,Type of mobile,MMSI,...``.
    """
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        return "geoparquet"
    opener = gzip.open if magic[:2] == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:
            first = fh.read(4096).split(b"\n", 1)[0]
    except (OSError, EOFError):
        return None
    cols = {bytes(c for c in col.lower() if chr(c).isalnum()) for col in first.split(b",")}
    if {b"mmsi", b"basedatetime"} <= cols:
        return "marinecadastre"
    if {b"timestamp", b"typeofmobile", b"mmsi"} <= cols:
        return "dma"
    return None


def sniff_format(path: Path) -> str:
    """Guess a recording's format from its name and first bytes."""
    archive = sniff_archive(path)
    if archive is not None:
        return archive
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        head = fh.read(4096)
    name = path.name.lower()
    if head[:1] == b"\x1a" or name.endswith(".bin"):
        return "beast"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        if b'"trace"' in head:
            return "readsb_trace"
        if b'"aircraft"' in head:
            return "aircraft_json"
        return "opensky"
    if stripped.startswith(b"MSG,") or b"\nMSG," in head:
        return "sbs"
    if stripped[:1] in (b"*", b"@") and b";" in head[:200]:
        return "avr"
    return "ais"


def read_chunks(
    path: Path, feed: int, receive_time: float, size: int = 1 << 20, framer: LineFramer | None = None
) -> Iterator[Chunk]:
    """Whole-line chunks of a (possibly gzipped) text recording; raw blocks for Beast (binary).

    Lines are cut by :func:`~mdacentre.ingest.framing.read_lines`: lines longer than the framer's
    limit are skipped and counted in ``framer.overflow`` (logged when no framer is given).
    """
    opener = gzip.open if path.suffix == ".gz" else open
    binary = sniff_format(path) == "beast"
    with opener(path, "rb") as fh:
        blocks = iter(lambda: fh.read(size), b"") if binary else read_lines(fh, size, framer, path.name)
        for data in blocks:
            yield Chunk(feed, data, receive_time)
