"""Mode S frames out of the wire formats: hex strings, AVR text lines and the Beast binary stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from mdacentre.decode.adsb.fields import LONG_BYTES, I64Array, U8Array
from mdacentre.model.rejects import Reject


class BeastType(IntEnum):
    """Beast frame type byte following the 0x1a marker."""

    MODE_AC = 0x31
    MODE_S_SHORT = 0x32
    MODE_S_LONG = 0x33
    STATUS = 0x34


_BEAST_BODY = {
    BeastType.MODE_AC: 2,
    BeastType.MODE_S_SHORT: 7,
    BeastType.MODE_S_LONG: 14,
    BeastType.STATUS: 14,
}
_BEAST_HEADER = 7  # 6 bytes MLAT counter + 1 byte signal level


def hex_to_frames(hexmsgs: Sequence[str]) -> tuple[U8Array, I64Array, npt.NDArray[np.bool_]]:
    """(n, 14) frames, byte lengths and a validity mask from hex strings (bad ones flagged)."""
    n = len(hexmsgs)
    frames = np.zeros((n, LONG_BYTES), dtype=np.uint8)
    nbytes = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    for i, h in enumerate(hexmsgs):
        s = h.strip() if isinstance(h, str) else ""
        if len(s) not in (14, 28):
            continue
        try:
            raw = bytes.fromhex(s)
        except ValueError:
            continue
        frames[i, : len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        nbytes[i] = len(raw)
        ok[i] = True
    return frames, nbytes, ok


def classify_avr_line(line: bytes) -> tuple[str | None, str]:
    """(hex payload or None, reject reason) for one AVR line."""
    s = line.strip()
    if not s:
        return None, Reject.BLANK
    if s[:1] == b"#":
        return None, Reject.COMMENT
    if s[:1] in (b"*", b"@", b"<", b":") and s[-1:] == b";":
        body = s[1:-1]
        if s[:1] == b"@":
            body = body[12:]
        elif s[:1] == b"<":
            body = body[14:]
    else:
        body = s.rstrip(b";")
    if len(body) == 4:
        return None, Reject.UNKNOWN_TYPE  # Mode A/C reply
    if len(body) not in (14, 28):
        return None, Reject.BAD_FRAME
    try:
        text = body.decode("ascii")
        bytes.fromhex(text)
    except ValueError:
        return None, Reject.BAD_FRAME
    return text, ""


@dataclass
class BeastFrames:
    """Mode S frames cut out of a Beast stream (Mode A/C and status frames are counted, not kept)."""

    frames: U8Array
    nbytes: I64Array
    mlat_ticks: I64Array
    signal: npt.NDArray[np.uint8]
    rejects: dict[str, int]
    count: int  # every complete frame of any type


class BeastFramer:
    """Cuts a Beast byte stream into frames, keeping a partial frame between calls."""

    def __init__(self) -> None:
        self._buf = b""
        self._in_garbage = False

    def feed(self, data: bytes) -> BeastFrames:
        buf = self._buf + bytes(data)
        bodies: list[bytes] = []
        kinds: list[int] = []
        rejects: dict[str, int] = {}
        pos = 0
        end = len(buf)
        while pos < end:
            if buf[pos] != 0x1A:
                nxt = buf.find(b"\x1a", pos)
                self._garbage(rejects)
                pos = end if nxt < 0 else nxt
                continue
            if pos + 1 >= end:
                break
            kind = buf[pos + 1]
            if kind not in _BEAST_BODY:
                self._garbage(rejects)
                pos += 1 if kind == 0x1A else 2
                continue
            body, consumed = _unescape(buf, pos + 2, _BEAST_HEADER + _BEAST_BODY[BeastType(kind)])
            if consumed < 0:  # need more bytes
                break
            if body is None:  # frame cut short by a new marker
                self._garbage(rejects)
                pos += 2 + consumed
                continue
            self._in_garbage = False
            bodies.append(body)
            kinds.append(kind)
            pos += 2 + consumed
        self._buf = buf[pos:]
        return _frames_from_bodies(bodies, kinds, rejects)

    def _garbage(self, rejects: dict[str, int]) -> None:
        if not self._in_garbage:
            rejects[Reject.BAD_FRAME] = rejects.get(Reject.BAD_FRAME, 0) + 1
        self._in_garbage = True


def _unescape(buf: bytes, start: int, need: int) -> tuple[bytes | None, int]:
    """Read ``need`` unescaped bytes from ``buf[start:]``.

    Returns (body, bytes consumed); consumed = -1 when more data is needed, and body None
    (with consumed up to the offending marker) when an unescaped 0x1a interrupts the frame.
    """
    raw = buf[start : start + need]
    if len(raw) == need and 0x1A not in raw:
        return raw, need
    out = bytearray()
    i = start
    n = len(buf)
    while len(out) < need:
        if i >= n:
            return None, -1
        b = buf[i]
        if b == 0x1A:
            if i + 1 >= n:
                return None, -1
            if buf[i + 1] != 0x1A:
                return None, i - start
            i += 1
        out.append(b)
        i += 1
    return bytes(out), i - start


def _frames_from_bodies(bodies: list[bytes], kinds: list[int], rejects: dict[str, int]) -> BeastFrames:
    mode_s = [i for i, k in enumerate(kinds) if k in (BeastType.MODE_S_SHORT, BeastType.MODE_S_LONG)]
    other = len(kinds) - len(mode_s)
    if other:
        rejects[Reject.UNKNOWN_TYPE] = rejects.get(Reject.UNKNOWN_TYPE, 0) + other
    frames = np.zeros((len(mode_s), LONG_BYTES), dtype=np.uint8)
    nbytes = np.zeros(len(mode_s), dtype=np.int64)
    ticks = np.zeros(len(mode_s), dtype=np.int64)
    signal = np.zeros(len(mode_s), dtype=np.uint8)
    for row, i in enumerate(mode_s):
        body = bodies[i]
        payload = body[_BEAST_HEADER:]
        frames[row, : len(payload)] = np.frombuffer(payload, dtype=np.uint8)
        nbytes[row] = len(payload)
        ticks[row] = int.from_bytes(body[:6], "big")
        signal[row] = body[6]
    return BeastFrames(frames, nbytes, ticks, signal, rejects, len(kinds))
