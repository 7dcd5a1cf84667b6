"""False-alarm rates on the real recordings: every detector stays under a stated share of real tracks.

The figures (alerts per category per hour of data, share of tracks flagged) are printed (-rP); whole
real days are measured by `mdacentre evaluate` (docs/detectors.md). Two documented exceptions: `identity` on libais_test.aivdm (a decoder
test set with synthetic MMSIs whose MID is unassigned) and `circling` on the Kingston calibration
flight (the aircraft really flies orbits).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdacentre.core.zones import load_library
from tools import detect_measure as dm

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
MAX_SHARE = 0.05  # of the real tracks of a recording, per category
EXPECTED_ABOVE = {
    ("libais_test.aivdm", "identity"),
    ("traffic_opensky_calibration_kingston.json.gz", "circling"),
}
# the AIS recordings with 40 tracks or more (each replay costs ~3 s of set-up; the small decoder
# samples add nothing to a rate); `python -m tools.detect_measure` runs every recording
AIS_FILES = [
    "amsa_risky_ais.txt", "amsa_risky_exact-earth-with-tag-block.txt", "amsa_risky_nmea-timestamped.txt",
    "dma_aislib_decode_encode_messages.txt", "dma_aislib_stream_example.txt", "docker-gpsd-timestamp_norwegian.raw",
    "gfw_aistools_mixed_types.nmea", "gpsd_ais-nmea-type6-fid55.log", "libais_test.aivdm",
    "pyais_nmea_data_sample.txt",
]  # fmt: skip


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared recordings absent")
def test_no_detector_fires_on_more_than_a_small_share_of_real_tracks() -> None:
    zones = load_library(REPO / "geofences")
    profiles = REPO / "geofences" / "profiles.toml"
    results = []
    for name in AIS_FILES:
        p = SHARED / "ais" / name
        results.append(dm.replay(p.name, dm.ais_batch(p), zones, profiles))
    mc = SHARED / "ais" / "aisdb_marinecadastre_noaa_20230101.csv"
    results.append(dm.replay(mc.name, dm.marinecadastre_batch(mc), zones, profiles))
    kingston = SHARED / "adsb" / "traffic_opensky_calibration_kingston.json.gz"
    results.append(dm.replay(kingston.name, dm.flight_batch(kingston), zones, profiles, step_s=10.0))
    print(json.dumps([m.as_dict() for m in results if m.alerts], indent=1))
    above = {
        (m.name, c) for m in results for c in m.flagged_tracks if m.tracks >= 20 and m.share(c) > MAX_SHARE
    }
    above |= {(m.name, c) for m in results for c in m.flagged_tracks if m.tracks == 1 and m.flagged_tracks[c]}
    assert above <= EXPECTED_ABOVE, above - EXPECTED_ABOVE
    assert sum(m.tracks for m in results) > 5000  # the recordings really were replayed
