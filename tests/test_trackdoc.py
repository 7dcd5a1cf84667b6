"""Track-panel fields of a track-table row: known values only, squawk as four digits."""

from __future__ import annotations

import numpy as np

from mdacentre.core.tracks import TrackTable
from mdacentre.model.batch import TrackKind
from mdacentre.service.trackdoc import detail_fields


def _cols() -> dict[str, np.ndarray]:
    table = TrackTable()
    return {name: np.resize(col, 2).copy() for name, col in table.cols.items()}


def test_vessel_and_aircraft_fields() -> None:
    c = _cols()
    for name in ("callsign", "destination", "eta", "imo", "length_m", "beam_m", "draught_m"):
        c[name][0] = c[name].dtype.type(0) if c[name].dtype.kind in "uif" else ""
    assert detail_fields(c, 0, TrackKind.VESSEL) == {}
    c["callsign"][0], c["imo"][0], c["destination"][0] = "C6AB3", 9321483, "KINGSTON"
    c["draught_m"][0], c["length_m"][0], c["beam_m"][0] = 7.5, 180.0, 28.0
    d = detail_fields(c, 0, TrackKind.VESSEL)
    assert d["callsign"] == "C6AB3" and d["imo"] == "9321483" and d["destination"] == "KINGSTON"
    assert d["draught_m"] == 7.5 and d["length_m"] == 180.0 and d["beam_m"] == 28.0
    c["squawk"][1], c["vrate_fpm"][1], c["on_ground"][1] = 7500, -640.0, 0
    a = detail_fields(c, 1, TrackKind.AIRCRAFT)
    assert a == {"squawk": "7500", "vrate_fpm": -640.0, "on_ground": False}
    c["squawk"][1], c["on_ground"][1], c["vrate_fpm"][1] = 12, -1, np.nan  # squawk 0012
    assert detail_fields(c, 1, TrackKind.AIRCRAFT) == {"squawk": "0012"}


def test_ship_types_are_served_in_the_vocabulary() -> None:
    from mdacentre.api.vocabulary import vocabulary
    from mdacentre.model.shiptypes import ship_type_text

    names = vocabulary()["ship_types"]
    assert names["70"] == "70 cargo" and names["30"] == "30 fishing" and names["84"] == "84 tanker"
    assert "1" not in names and ship_type_text(1) == "1"
