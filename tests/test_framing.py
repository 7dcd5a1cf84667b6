"""The one line chunker (mdacentre.ingest.framing): streaming framer, file blocks, line offsets."""

from __future__ import annotations

import asyncio
import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.framing import MAX_LINE, LineBuffer, LineFramer, read_lines
from mdacentre.ingest.recordings import read_chunks
from mdacentre.ingest.sources import Chunk, FeedSource
from mdacentre.model.rejects import Reject
from mdacentre.runtime.metrics import Metrics

REPO = Path(__file__).resolve().parents[1]
AIS_FILE = REPO.parent / "shared" / "data" / "ais" / "dma_aislib_stream_example.txt"
GOOD = b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path}")
    return path


def test_over_long_line_across_many_reads_counts_once() -> None:
    f = LineFramer()
    out = [f.feed(GOOD + b"\nxx")]
    for _ in range(160):  # one 10 MB line arriving in 64 KiB reads
        out.append(f.feed(b"y" * 65536))
    out.append(f.feed(b"yyy\n" + GOOD + b"\n"))
    assert f.overflow == 1
    assert b"".join(out) == GOOD + b"\n" + GOOD + b"\n"  # nothing of the long line leaks out


def test_complete_over_long_lines_inside_one_read_count_once_each() -> None:
    f = LineFramer()
    data = GOOD + b"\n" + b"z" * (MAX_LINE + 1) + b"\r\n" + GOOD + b"\n" + b"w" * 20000 + b"\n" + b"ok"
    assert f.feed(data) == GOOD + b"\n" + GOOD + b"\n"
    assert f.overflow == 2
    assert f.feed(b"\n") == b"ok\n"
    exact = b"q" * MAX_LINE + b"\n"  # at the limit: kept
    assert f.feed(exact) == exact and f.overflow == 2


def test_framer_keeps_partial_lines() -> None:
    f = LineFramer()
    assert f.feed(b"abc") == b""
    assert f.feed(b"def\nghi") == b"abcdef\n"
    assert f.feed(b"\n") == b"ghi\n"
    assert f.feed(b"tail") == b"" and f.flush() == b"tail" and f.flush() == b""


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(1, 400), min_size=1, max_size=30))
def test_any_cut_gives_the_same_lines(data: bytes, cuts: list[int]) -> None:
    """However the stream is cut into reads, the same lines come out and the same count is dropped."""
    limit = 50

    def run(pieces: list[bytes]) -> tuple[bytes, int]:
        f = LineFramer(limit)
        got = b"".join(f.feed(p) for p in pieces)
        return got + f.flush(), f.overflow

    whole = run([data])
    pieces, at = [], 0
    for c in cuts:
        pieces.append(data[at : at + c])
        at += c
    pieces.append(data[at:])
    assert run(pieces) == whole
    got, dropped = whole
    lines = data.split(b"\n")
    assert dropped == sum(len(x) > limit for x in lines[:-1]) + (len(lines[-1]) > limit)
    assert all(len(x) <= limit for x in got.split(b"\n"))


def test_feed_counts_one_too_long_for_one_long_line(tmp_path: Path) -> None:
    """A file feed read in 1 MiB blocks: a 3 MiB line is one ``too_long``, the lines around it arrive."""
    path = tmp_path / "long.nmea"
    path.write_bytes(GOOD + b"\n" + b"x" * (3 << 20) + b"\n" + GOOD + b"\n")
    metrics = Metrics()

    async def main() -> list[Chunk]:
        q: asyncio.Queue[Chunk] = asyncio.Queue()
        spec = FeedSpec("long", FeedKind.AIS, Transport.FILE, path=str(path))
        await FeedSource(0, spec, q, metrics).run(asyncio.Event())
        return [q.get_nowait() for _ in range(q.qsize())]

    chunks = asyncio.run(main())
    assert b"".join(c.data for c in chunks) == GOOD + b"\n" + GOOD + b"\n"
    assert metrics.by_label("mda_rejects_total", "reason", feed="long") == {Reject.TOO_LONG.value: 1.0}


def test_read_chunks_whole_lines_of_a_real_recording(tmp_path: Path) -> None:
    raw = _need(AIS_FILE).read_bytes()
    gz = tmp_path / "rec.nmea.gz"
    gz.write_bytes(gzip.compress(raw.rstrip(b"\n")))  # last line without newline
    chunks = list(read_chunks(gz, 2, 5.0, size=777))
    assert all(c.data.endswith(b"\n") and c.feed == 2 and c.receive_time == 5.0 for c in chunks)
    assert b"".join(c.data for c in chunks) == raw.rstrip(b"\n") + b"\n"
    framer = LineFramer(100)
    plain = tmp_path / "rec.nmea"
    plain.write_bytes(raw + b"v" * 500 + b"\n")
    assert b"".join(c.data for c in read_chunks(plain, 0, 0.0, framer=framer)) == raw
    assert framer.overflow == 1


def test_read_lines_logs_what_it_skips_without_a_framer(caplog: pytest.LogCaptureFixture) -> None:
    blocks = list(read_lines(io.BytesIO(b"a\n" + b"b" * (MAX_LINE + 5) + b"\nc"), size=100, name="x.txt"))
    assert b"".join(blocks) == b"a\nc\n"
    assert "x.txt: 1 lines longer than" in caplog.text


def test_line_buffer_offsets() -> None:
    lb = LineBuffer.of_chunk(b"!a\r\n!b\n\r\n!c")
    assert lb.lines() == [b"!a", b"!b", b"", b"!c"] and len(lb) == 4 and lb[1] == b"!b"
    assert len(LineBuffer.of_chunk(b"")) == 0
    assert LineBuffer.of_chunk(b"x\n").lines() == [b"x"]
    again = LineBuffer.of_lines([b"!a", b"", b"!c"])
    assert again.lines() == [b"!a", b"", b"!c"]
    assert bytes(again.buf[again.ends[-1] :][:3]) == b"\n\x00\x00"  # padded past the data
    assert np.array_equal(lb.with_starts(lb.starts + 1).starts, lb.starts + 1)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=500))
def test_line_buffer_agrees_with_bytes_split(data: bytes) -> None:
    expect = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        expect.pop()
    expect = [x[:-1] if x.endswith(b"\r") else x for x in expect]
    assert LineBuffer.of_chunk(data).lines() == expect
