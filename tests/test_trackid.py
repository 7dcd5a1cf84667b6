"""The one track-id format: format and parse are inverses, and malformed keys are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdacentre.model.batch import TrackKind, make_key
from mdacentre.model.errors import MdaError
from mdacentre.model.trackid import (
    MAX_ICAO,
    MAX_MMSI,
    TrackIdError,
    format_track_key,
    key_text,
    parse_track_key,
    track_id,
)


def test_examples() -> None:
    assert format_track_key(TrackKind.VESSEL, 538001234) == "vessel:538001234"
    assert format_track_key(TrackKind.AIRCRAFT, 0x4CA7B2) == "aircraft:4ca7b2"
    assert format_track_key(TrackKind.AIRCRAFT, 0xA) == "aircraft:00000a"
    assert format_track_key(TrackKind.SAR_AIRCRAFT, 111232511) == "sar_aircraft:111232511"
    assert track_id(TrackKind.BASE_STATION, 2320001) == "2320001"
    assert key_text(int(make_key(TrackKind.AIRCRAFT, 0x4CA7B2))) == "aircraft:4ca7b2"


@given(st.sampled_from(list(TrackKind)), st.integers(0, MAX_MMSI))
def test_format_then_parse_is_identity(kind: TrackKind, ident: int) -> None:
    if kind == TrackKind.AIRCRAFT:
        ident %= MAX_ICAO + 1
    text = format_track_key(kind, ident)
    assert parse_track_key(text) == (kind, ident)
    assert key_text(int(make_key(kind, ident))) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "vessel",
        "vessel:",
        "ship:123",
        "vessel:12a",
        "vessel:0123",
        "vessel:1234567890",
        "aircraft:4CA7B2",
        "aircraft:4ca7b",
        "aircraft:4ca7b2:1",
        "Vessel:123",
    ],
)
def test_malformed_keys_refused_with_the_format(text: str) -> None:
    with pytest.raises(TrackIdError) as exc:
        parse_track_key(text)
    assert isinstance(exc.value, MdaError)
    assert "{kind}:{id}" in str(exc.value) or "id" in str(exc.value)
