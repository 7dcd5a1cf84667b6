"""Mode S / ADS-B decoding into column batches (the airspace half of the ingest).

Three wire formats feed one stateful decoder: raw hex strings
(:meth:`ModeSDecoder.decode_messages`), AVR text lines (:class:`AvrDecoder`) and the Beast
binary stream (:class:`BeastDecoder`). Modules in the order a frame meets them:
:mod:`.framing` (hex, AVR, Beast), :mod:`.fields` (vectorised field extraction), :mod:`.cpr`
(positions), :mod:`.state` (per-aircraft memory and rows) and :mod:`.decoder`.

Hand-written on purpose: on the same messages in one process it decodes several times faster
than pyModeS and rs1090 (``mdacentre bench``, docs/performance.md), and the tests hold it to
pyModeS on every real recording with raw messages.
"""

from mdacentre.decode.adsb.decoder import AvrDecoder, BeastDecoder, ModeSDecoder
from mdacentre.decode.adsb.fields import (
    NON_ICAO_FLAG,
    altitude_from_ac13,
    crc_remainder,
    extract_fields,
    squawk_from_identity,
)
from mdacentre.decode.adsb.framing import BeastFramer, hex_to_frames
from mdacentre.decode.adsb.state import AircraftMemory, AircraftState, FlightMsgType, RowSink

__all__ = [
    "NON_ICAO_FLAG",
    "AircraftMemory",
    "AircraftState",
    "AvrDecoder",
    "BeastDecoder",
    "BeastFramer",
    "FlightMsgType",
    "ModeSDecoder",
    "RowSink",
    "altitude_from_ac13",
    "crc_remainder",
    "extract_fields",
    "hex_to_frames",
    "squawk_from_identity",
]
