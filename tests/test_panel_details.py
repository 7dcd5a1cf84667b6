"""Track panel details the server sends: an aircraft's flag from its ICAO address block (ICAO Annex 10
allocations, a data file with its source line), a vessel's from its MID, and a vessel's last port of call
from the timeline's port arrivals; and the map's place names built from Natural Earth."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from conftest import REPO

from mdacentre.cli.replay import run_replay
from mdacentre.model.batch import TrackKind
from mdacentre.model.icao import icao_flags
from mdacentre.model.mid import DATA_DIR
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import Core, JsonlSink
from mdacentre.service.flags import track_flags
from mdacentre.service.pipeline import StepResult
from tests.test_replay_clock import DEMO, recording

GEO = REPO.parent / "shared" / "data" / "geo"


def test_icao_address_blocks_give_the_state_of_registry() -> None:
    addrs = [0x0BE123, 0xA12345, 0xADF7C8, 0x400001, 0x0C2000, 0x0A8FFF, 0xC00001, 0xF00001, 0x000001]
    assert icao_flags(addrs).tolist() == ["JM", "US", "US", "GB", "PA", "BS", "CA", "", ""]
    rows = list(csv.DictReader((DATA_DIR / "icao_blocks.csv").open(encoding="utf-8")))
    assert len(rows) > 150
    for r in rows:  # each block is a whole number of 1,024-address units, as Annex 10 allocates them
        a, b = int(r["start"], 16), int(r["end"], 16)
        assert a % 1024 == 0 and (b + 1) % 1024 == 0, r
    assert (
        "icao_blocks.csv" in (DATA_DIR / "SOURCES.md").read_text()
        and "Annex 10" in (DATA_DIR / "SOURCES.md").read_text()
    )


def test_track_flags_use_the_icao_block_for_aircraft_and_the_mid_for_vessels() -> None:
    kinds = [int(TrackKind.VESSEL), int(TrackKind.AIRCRAFT), int(TrackKind.AIRCRAFT), int(TrackKind.VESSEL)]
    # 0x0BE001 read as an MMSI would give no flag (and a wrong one for other addresses)
    assert track_flags(kinds, np.asarray([309123456, 0x0BE001, 0xA00001, 339123456])) == [
        "BS",
        "JM",
        "US",
        "JM",
    ]


def test_last_port_of_call_goes_to_the_map_with_the_track(tmp_path: Path) -> None:
    if not DEMO.is_file():
        import pytest

        pytest.skip("the demo recording is missing")
    seen: dict[str, Any] = {}

    def keep(core: Core, res: StepResult) -> None:
        seen["core"], seen["archive"] = core, core.archive

    run_replay(
        Settings(data_dir=tmp_path),
        [recording(str(tmp_path))],
        JsonlSink(io.BytesIO()),
        archive=True,
        on_step=keep,
    )
    core, rec = seen["core"], seen["archive"]
    calls = rec.timeline.last_port_of_call  # complete: the recorder's writer has finished (closed)
    assert calls, "the two hours of the demo hold port arrivals"
    core.archive = rec
    key, (zone, t) = next(iter(calls.items()))
    rows = core.pipeline.table.lookup(np.asarray([key]))
    doc = core.tracks_json(rows[rows >= 0])[0]
    names = {z.id: z.name for z in core.zones}
    assert doc["last_port"] == names[zone] and doc["last_port_t"].startswith("2026-01-15T")
    others = core.tracks_json(np.flatnonzero(core.pipeline.table.cols["kind"] == int(TrackKind.AIRCRAFT))[:5])
    assert all("last_port" not in d for d in others)


def test_place_names_are_built_from_natural_earth() -> None:
    from tools.placenames import build

    shipped = json.loads((REPO / "web" / "data" / "places.geojson").read_text(encoding="utf-8"))
    if GEO.is_dir():
        assert build(GEO)["features"] == shipped["features"]  # the shipped file is what the builder makes
    names = {f["properties"]["name"]: f["properties"] for f in shipped["features"]}
    for n in ("Caribbean Sea", "Jamaica", "Cuba", "Yucatan Channel", "Kingston"):
        assert n in names, n
    assert names["Caribbean Sea"]["kind"] == "marine" and names["Kingston"]["kind"] == "port"
    assert "places.geojson" in (REPO / "web" / "SOURCES.md").read_text()
