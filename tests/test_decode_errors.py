"""Our own bugs are not bad input: a failure inside a decoder is logged, counted apart, never a reject."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdacentre.decode.adsb.decoder as modes_decoder
import mdacentre.decode.ais.decoder as ais_decoder
from mdacentre.decode.adsb import ModeSDecoder
from mdacentre.decode.ais import AisDecoder
from mdacentre.decode.ais.messages import Outcome
from mdacentre.decode.ais.nmea import xor_checksum
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.sources import Chunk
from mdacentre.model.rejects import Reject
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import Core

REPO = Path(__file__).resolve().parents[1]
AIS_FILE = REPO.parent / "shared" / "data" / "ais" / "gpsd_ais-nmea.log"
ADSB_FILE = REPO.parent / "shared" / "data" / "adsb" / "pymodes_sample_data_adsb.csv"


def _need(path: Path) -> bytes:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path}")
    return path.read_bytes()


def _broken(calls: list[int]) -> Any:
    def fail(*_args: Any, **_kwargs: Any) -> str:
        calls.append(1)
        raise TypeError("planted bug")

    return fail


def test_internal_error_in_message_decoding_is_not_a_decode_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = _need(AIS_FILE)
    normal_dec = AisDecoder(fast=False)
    normal = normal_dec.decode(data, 1.7e9)
    calls: list[int] = []
    monkeypatch.setattr(ais_decoder, "message_rows", _broken(calls))
    dec = AisDecoder(fast=False)
    with caplog.at_level(logging.ERROR, logger=ais_decoder.__name__):
        broken = dec.decode(data, 1.7e9)
    assert len(calls) > 100  # every complete message of a row type reached the planted bug
    assert broken.internal_errors == len(calls) == dec.outcomes[Outcome.INTERNAL_ERROR]
    # the rejects are the input's: what failed before the bug, not one more decode_error
    assert broken.rejects.get(Reject.DECODE_ERROR, 0) <= normal.rejects.get(Reject.DECODE_ERROR, 0)
    assert Outcome.INTERNAL_ERROR not in broken.rejects
    assert len(broken.positions) == 0 and len(broken.statics) == 0
    # every line is still accounted for, and the bug is in the log with its traceback (a few times)
    assert sum(dec.outcomes.values()) + dec.pending_lines == broken.lines == normal.lines
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is TypeError]
    assert 1 <= len(logged) <= 5 and "planted bug" in caplog.text
    assert normal.internal_errors == 0 and normal_dec.outcomes[Outcome.INTERNAL_ERROR] == 0


def test_a_failing_fast_path_leaves_the_chunk_to_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _need(AIS_FILE)
    slow = AisDecoder(fast=False).decode(data, 1.7e9)
    calls: list[int] = []
    monkeypatch.setattr(ais_decoder, "decode_lines_fast", _broken(calls))
    dec = AisDecoder()
    b = dec.decode(data, 1.7e9)
    assert calls == [1] and b.internal_errors == 1
    assert b.rejects == slow.rejects  # nothing lost: every line decoded the general way
    assert b.positions.tobytes() == slow.positions.tobytes()
    assert b.statics.tobytes() == slow.statics.tobytes()


def test_internal_error_in_mode_s_is_counted_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [r.split(",") for r in _need(ADSB_FILE).decode().splitlines()]
    msgs, times = [r[1].strip('"') for r in rows[:300]], np.array([float(r[0]) for r in rows[:300]])
    calls: list[int] = []
    monkeypatch.setattr(modes_decoder, "extract_fields", _broken(calls))
    b = ModeSDecoder().decode_messages(msgs, times)
    assert calls == [1] and b.internal_errors == 300
    assert b.rejects == {} and len(b.positions) == 0


def test_service_counts_internal_errors_in_their_own_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _need(AIS_FILE)
    metrics = Metrics()
    core = Core(
        replace(Settings(), data_dir=tmp_path),
        [FeedSpec("f", FeedKind.AIS, Transport.FILE, path="x")],
        metrics,
    )
    calls: list[int] = []
    monkeypatch.setattr(ais_decoder, "message_rows", _broken(calls))
    batch = core.decode([Chunk(0, data, 1.7e9)])
    assert batch.internal_errors == len(calls) > 0
    assert metrics.get("mda_internal_errors_total", {"stage": "decode", "feed": "f"}) == len(calls)
    normal = AisDecoder().decode(data, 1.7e9).rejects.get(Reject.DECODE_ERROR, 0)
    assert metrics.by_label("mda_rejects_total", "reason").get(Reject.DECODE_ERROR, 0) == normal
    assert 'mda_internal_errors_total{feed="f",stage="decode"}' in metrics.prometheus()


ARMOUR = [chr(c) for c in (*range(48, 88), *range(96, 120))]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([1, 2, 3, 4, 5, 6, 8, 9, 11, 18, 19, 21, 24, 27]),
    st.lists(st.sampled_from(ARMOUR), min_size=6, max_size=80),
    st.integers(0, 5),
)
def test_no_payload_is_an_internal_error(msg_type: int, rest: list[str], fill: int) -> None:
    """Whatever a checked sentence carries, the decoders call it input (a row or a reject), never a bug."""
    payload = ARMOUR[msg_type] + "".join(rest)
    body = f"AIVDM,1,1,,A,{payload},{fill}"
    line = f"!{body}*{xor_checksum(body.encode()):02X}\n".encode()
    seen = []
    for fast in (True, False):
        dec = AisDecoder(fast=fast)
        b = dec.decode(line, 1.7e9)
        assert b.internal_errors == 0 and dec.outcomes[Outcome.INTERNAL_ERROR] == 0, line
        seen.append((b.rejects, len(b.positions), len(b.statics)))
    assert seen[0] == seen[1], line
