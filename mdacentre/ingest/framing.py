"""The one line chunker: byte streams cut into whole lines, and a chunk of lines as offsets.

Two views of the same rule (lines end at ``\\n``; a ``\\r`` before it is not part of the line):

* :class:`LineFramer` is the streaming side. It takes bytes as they arrive (TCP, serial, a
  file read in blocks) and gives back only whole lines, keeping the partial last line for the
  next call. A line longer than ``max_line`` bytes is dropped whole, from its first byte up to
  and including its newline, and counted once in :attr:`LineFramer.overflow` however many reads
  it spans: an over-long line is one bad input, not one per read.
* :class:`LineBuffer` is the decoding side. It holds one chunk of whole lines as one ``uint8``
  buffer and the start and end offset of every line (found with NumPy, no per-line objects),
  for the vectorised decoders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

MAX_LINE = 8192  # bytes; a longer line is garbage and is dropped (counted once)
PAD = 128  # zero bytes after a LineBuffer's data, so that fixed-offset reads never leave it
_NL = ord("\n")
_CR = ord("\r")

IntArray = npt.NDArray[np.int64]
U8Array = npt.NDArray[np.uint8]

log = logging.getLogger(__name__)


class Readable(Protocol):
    """A binary file object (plain, gzip)."""

    def read(self, size: int = -1, /) -> bytes: ...


class LineFramer:
    """Whole lines out of a byte stream; the partial last line waits for the next call.

    ``overflow`` counts the over-long lines dropped since the caller last reset it (a caller
    that reports it as ``too_long`` sets it back to 0).
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self.tail = b""
        self.overflow = 0
        self._skipping = False  # inside an over-long line already counted: drop up to its newline

    def feed(self, data: bytes) -> bytes:
        """The whole lines completed by ``data`` (each with its newline), b"" when none."""
        if self._skipping:
            nl = data.find(b"\n")
            if nl < 0:
                return b""
            data, self._skipping = data[nl + 1 :], False
        buf = self.tail + data if self.tail else data
        cut = buf.rfind(b"\n")
        if cut < 0:
            whole, self.tail = b"", buf
        else:
            whole, self.tail = buf[: cut + 1], buf[cut + 1 :]
        if len(self.tail) > self.max_line:
            self.overflow += 1
            self.tail, self._skipping = b"", True
        if len(whole) > self.max_line + 1 and self._has_long(whole):
            whole = self._drop_long(whole)
        return whole

    def flush(self) -> bytes:
        """The partial last line (no newline added), and the framer starts afresh."""
        rest, self.tail, self._skipping = self.tail, b"", False
        return rest

    def _has_long(self, whole: bytes) -> bool:
        """Whether a line of ``whole`` (ending in a newline) is longer than ``max_line``.

        Jumps from line start to the last newline within ``max_line`` bytes of it: about one
        ``rfind`` per ``max_line`` bytes, not one per line.
        """
        pos, end, reach = 0, len(whole), self.max_line + 1
        while end - pos > reach:
            nl = whole.rfind(b"\n", pos, pos + reach)
            if nl < 0:
                return True
            pos = nl + 1
        return False

    def _drop_long(self, whole: bytes) -> bytes:
        """``whole`` (ending in a newline) without its lines longer than ``max_line``."""
        nl = np.flatnonzero(np.frombuffer(whole, dtype=np.uint8) == _NL)
        starts = np.concatenate(([0], nl[:-1] + 1))
        lengths = nl - starts  # without the newline (a \r counts: it is a byte of the stream)
        long = np.flatnonzero(lengths > self.max_line)
        if len(long) == 0:
            return whole
        self.overflow += len(long)
        keep: list[bytes] = []
        at = 0
        for i in long.tolist():
            keep.append(whole[at : int(starts[i])])
            at = int(nl[i]) + 1
        keep.append(whole[at:])
        return b"".join(keep)


def read_lines(
    fh: Readable, size: int = 1 << 20, framer: LineFramer | None = None, name: str = ""
) -> Iterator[bytes]:
    """Blocks of whole lines read from a binary file object (each ends with a newline).

    A last line without a newline gets one. Over-long lines are counted in ``framer``'s
    ``overflow`` when the caller passes a framer; otherwise they are logged (with ``name``).
    """
    own = framer is None
    fr = framer if framer is not None else LineFramer()
    while True:
        data = fh.read(size)
        if not data:
            break
        whole = fr.feed(data)
        if whole:
            yield whole
    rest = fr.flush()
    if rest:
        yield rest + b"\n"
    if own and fr.overflow:
        log.warning("%s: %d lines longer than %d bytes skipped", name or "input", fr.overflow, fr.max_line)


@dataclass(frozen=True)
class LineBuffer:
    """A chunk of lines held as one byte buffer with the offsets of each line (no per-line objects).

    ``buf`` is the chunk followed by :data:`PAD` zero bytes; line ``i`` is
    ``buf[starts[i]:ends[i]]`` without its ``\\r\\n`` or ``\\n`` terminator.
    """

    data: bytes
    buf: U8Array
    starts: IntArray
    ends: IntArray

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> bytes:
        return self.data[int(self.starts[i]) : int(self.ends[i])]

    def lines(self) -> list[bytes]:
        """Every line as bytes (for the per-line paths)."""
        data = self.data
        return [data[s:e] for s, e in zip(self.starts.tolist(), self.ends.tolist(), strict=True)]

    def with_starts(self, starts: IntArray) -> LineBuffer:
        """The same lines, each starting at ``starts`` instead (a prefix cut off)."""
        return LineBuffer(self.data, self.buf, starts, self.ends)

    @classmethod
    def of_lines(cls, lines: Sequence[bytes]) -> LineBuffer:
        """A buffer of ``lines`` (without terminators), joined with newlines."""
        n = len(lines)
        lengths = np.fromiter(map(len, lines), dtype=np.int64, count=n)
        starts = np.zeros(n, dtype=np.int64)
        if n:
            np.cumsum(lengths[:-1] + 1, out=starts[1:])
        data = b"\n".join(lines) + b"\n"
        return cls(data, np.frombuffer(data + b"\x00" * PAD, dtype=np.uint8), starts, starts + lengths)

    @classmethod
    def of_chunk(cls, data: bytes) -> LineBuffer:
        """Lines split on ``\\n`` with a ``\\r`` before it dropped; a last line without newline counts."""
        buf = np.frombuffer(data + b"\n" + b"\x00" * PAD, dtype=np.uint8)
        nl = np.flatnonzero(buf[: len(data) + 1] == _NL)
        if data.endswith(b"\n") or not data:
            nl = nl[:-1]  # the newline added above closes nothing
        starts = np.zeros(len(nl), dtype=np.int64)
        starts[1:] = nl[:-1] + 1
        ends = nl.astype(np.int64)
        cr = np.flatnonzero((ends > starts) & (buf[np.maximum(ends - 1, 0)] == _CR))
        ends[cr] -= 1
        return cls(data, buf, starts, ends)
