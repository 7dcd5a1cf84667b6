"""Recorded feeds on disk: which format a file holds, and its bytes as whole-line chunks."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

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


def read_chunks(path: Path, feed: int, receive_time: float, size: int = 1 << 20) -> Iterator[Chunk]:
    """Whole-line chunks of a (possibly gzipped) text recording; raw chunks for Beast."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        tail = b""
        while True:
            data = fh.read(size)
            if not data:
                break
            buf = tail + data
            cut = buf.rfind(b"\n")
            if cut < 0:
                tail = buf
                continue
            yield Chunk(feed, buf[: cut + 1], receive_time)
            tail = buf[cut + 1 :]
        if tail:
            yield Chunk(feed, tail + b"\n", receive_time)
