"""AIS: NMEA framing, the one bit layout, the vectorised fast path and the stateful decoder.

Modules in the order a chunk meets them: :mod:`.sentences` and :mod:`.nmea` (framing, vectorised
and per line), :mod:`.tagblocks`, :mod:`.fast` and :mod:`.statics` (payloads, vectorised),
:mod:`.layout` (where each field sits), :mod:`.messages` (one complete message, per message),
:mod:`.fastglue` and :mod:`.decoder` (:class:`AisDecoder`: one per feed).
"""

from mdacentre.decode.ais.decoder import AisDecoder, decode_file

__all__ = ["AisDecoder", "decode_file"]
