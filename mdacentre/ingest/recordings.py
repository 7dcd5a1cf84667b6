"""Recorded feeds on disk: which format a file holds, and its bytes as whole-line chunks."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from mdacentre.ingest.sources import Chunk

FILE_FORMATS = ("auto", "ais", "sbs", "beast", "avr", "aircraft_json", "opensky", "readsb_trace")


def sniff_format(path: Path) -> str:
    """Guess a recording's format from its name and first bytes."""
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
