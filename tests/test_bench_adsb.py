"""The ADS-B decoding figure of ``mdacentre bench`` runs and reports every decoder (figures printed, never judged)."""

from __future__ import annotations

import json

import pytest

from mdacentre.cli.bench_adsb import ADSB_DIR, bench_adsb, load_messages


def test_adsb_bench_reports_the_three_decoders_on_the_same_messages() -> None:
    msgs, times = load_messages()
    if not msgs:
        pytest.skip(f"shared ADS-B recordings not found at {ADSB_DIR}")
    assert len(msgs) == len(times) == 12_239
    res = bench_adsb(copies=1, reps=1)
    print(json.dumps(res, indent=1))
    assert res["adsb_messages"] == 12_239
    assert res["adsb_msgs_per_s_core"] > 0 and res["adsb_msgs_per_s_pymodes"] > 0
    assert res["adsb_ratio_vs_pymodes"] > 0
    # comparable work: each decoder finds the positions of the same airborne frames
    assert abs(res["adsb_positions_core"] - res["adsb_positions_pymodes"]) <= 10
    if res.get("adsb_msgs_per_s_rs1090") is not None:  # rs1090 is optional (pip install rs1090)
        assert res["adsb_ratio_vs_rs1090"] > 0 and res["adsb_positions_rs1090"] > 0
