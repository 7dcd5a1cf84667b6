"""Why an input line or message was not turned into a record (counted by reason, never dropped silently)."""

from __future__ import annotations

from enum import StrEnum


class Reject(StrEnum):
    """Why an input line or message was not turned into a record."""

    BLANK = "blank"
    COMMENT = "comment"
    NOT_NMEA = "not_nmea"
    OTHER_NMEA = "other_nmea"  # valid NMEA that is not AIS ($GPGGA, $PGHP without AIS ...)
    BAD_CHECKSUM = "bad_checksum"
    BAD_TAG_BLOCK = "bad_tag_block"
    BAD_FRAGMENT = "bad_fragment"
    ORPHAN_FRAGMENT = "orphan_fragment"
    EMPTY_PAYLOAD = "empty_payload"
    TOO_LONG = "too_long"
    UNKNOWN_TYPE = "unknown_type"
    DECODE_ERROR = "decode_error"
    DUPLICATE = "duplicate"
    BAD_CRC = "bad_crc"  # Mode S parity failure
    BAD_FRAME = "bad_frame"  # Beast/AVR/SBS framing error
    BAD_VALUE = "bad_value"  # decoded but out of range (e.g. latitude 91)
