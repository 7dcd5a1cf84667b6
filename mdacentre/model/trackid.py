"""The one track-id format: a track's id and its key, written and read in one place.

* ``id`` - the MMSI in decimal (vessels, base stations, aids to navigation, SAR aircraft), or the
  ICAO 24-bit address as six lower-case hex digits (aircraft). This is ``track.id`` in alerts.
* ``key`` - ``{kind}:{id}`` (``vessel:538001234``, ``aircraft:4ca7b2``): one string naming a track
  across the map, the API and the MQTT track-status topics.

The map page reads :data:`KEY_TEMPLATE` from ``GET /api/vocabulary`` instead of keeping a copy.
"""

from __future__ import annotations

import re

from mdacentre.model.batch import TrackKind, split_key
from mdacentre.model.errors import MdaError

KEY_SEPARATOR = ":"
KEY_TEMPLATE = "{kind}" + KEY_SEPARATOR + "{id}"
HEX_KINDS = frozenset({TrackKind.AIRCRAFT})  # identified by a 24-bit ICAO address, written in hex
MAX_ICAO = 0xFFFFFF
MAX_MMSI = 999_999_999
_HEX_ID = re.compile(r"[0-9a-f]{6}")
_DEC_ID = re.compile(r"0|[1-9][0-9]{0,8}")
_BY_LABEL = {k.label: k for k in TrackKind}


class TrackIdError(MdaError):
    """A track key or id is not in the one track-id format."""


def track_id(kind: TrackKind | int, ident: int) -> str:
    """The id a track shows: ICAO address as six lower-case hex digits for aircraft, else the MMSI."""
    return f"{int(ident):06x}" if TrackKind(kind) in HEX_KINDS else str(int(ident))


def format_track_key(kind: TrackKind | int, ident: int) -> str:
    """``kind:id`` for a track (``vessel:538001234``, ``aircraft:4ca7b2``)."""
    return KEY_TEMPLATE.format(kind=TrackKind(kind).label, id=track_id(kind, ident))


def key_text(key: int) -> str:
    """``kind:id`` of a track-table key (``kind << 32 | identity``)."""
    return format_track_key(*split_key(key))


def parse_track_id(kind: TrackKind | int, text: str) -> int:
    """The identity (MMSI or ICAO address) from a track id of ``kind``; the inverse of :func:`track_id`."""
    k = TrackKind(kind)
    if k in HEX_KINDS:
        if not _HEX_ID.fullmatch(text):
            raise TrackIdError(f"{k.label} id {text!r} must be six lower-case hex digits (ICAO address)")
        return int(text, 16)
    if not _DEC_ID.fullmatch(text):
        raise TrackIdError(f"{k.label} id {text!r} must be an MMSI: 1 to 9 decimal digits, no leading zero")
    return int(text)


def parse_track_key(text: str) -> tuple[TrackKind, int]:
    """(kind, identity) from ``kind:id``; the inverse of :func:`format_track_key`."""
    label, sep, ident = text.partition(KEY_SEPARATOR)
    kind = _BY_LABEL.get(label)
    if not sep or kind is None:
        raise TrackIdError(
            f"track key {text!r} must look like {KEY_TEMPLATE!r} with kind one of {sorted(_BY_LABEL)}"
        )
    return kind, parse_track_id(kind, ident)
