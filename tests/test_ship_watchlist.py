"""Watch-list CSV files of the encounter detector (detect/watchlist.py): validation and use."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdacentre.detect.encounter import EncounterDetector
from mdacentre.detect.registry import load_detectors
from mdacentre.detect.watchlist import ShipWatchList, read_watch_csv
from mdacentre.model.errors import ConfigError
from tests.test_context import FAR, _pair, shore_only
from tests.test_detectors import opened, run

REPO = Path(__file__).resolve().parent.parent
HEADER = "mmsi,imo,name,reason\n"


def _csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    p = tmp_path / "ships.csv"
    p.write_text("# a comment\n" + header + body, encoding="utf-8")
    return p


def test_shipped_example_list_loads_and_matches_by_mmsi_imo_or_name() -> None:
    entries = read_watch_csv(REPO / "geofences" / "watchlists" / "ships" / "ships_of_interest.csv")
    wl = ShipWatchList.of(entries)
    assert len(entries) == 3 and all("fictitious" in e.reason for e in entries)
    assert (
        wl.reason(999000011, 0, "") == wl.reason(0, 9999905, "") == wl.reason(0, 0, " example  night carrier")
    )
    assert wl.reason(0, 9999917, "")  # known by IMO only
    assert wl.reason(366000001, 9999993, "SOMEONE") is None


@pytest.mark.parametrize(
    "body,problem",
    [
        ("12345,,,too short\n", "mmsi: Value error, an MMSI has 9 digits"),
        ("366000001,9999906,,bad check digit\n", "imo: Value error, not an IMO number"),
        ("366000001,,,\n", "reason: Value error, give the reason"),
        (",,,no identity\n", "give at least one of mmsi, imo or name"),
        ("366000001,,A,reason,extra\n", "5 fields, expected 4"),
        ("abc,,,words\n", "mmsi: Input should be a valid integer"),
    ],
)
def test_a_bad_line_is_refused_naming_file_line_and_field(tmp_path: Path, body: str, problem: str) -> None:
    p = _csv(tmp_path, "366000002,,,ok\n" + body)
    with pytest.raises(ConfigError) as exc:
        read_watch_csv(p)
    assert (
        str(p) in str(exc.value) and "line 4: " in str(exc.value) and problem in str(exc.value)
    )  # comment, header, ok, bad


def test_wrong_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the header must be mmsi,imo,name,reason"):
        read_watch_csv(_csv(tmp_path, "366000002,,,ok\n", header="kind,value,label\n"))


def test_profiles_file_names_the_lists_and_a_listed_ship_is_never_routine(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "ships.csv").write_text(
        HEADER + ",,B,cargo ship reported by a partner agency\n", encoding="utf-8"
    )
    prof = tmp_path / "profiles.toml"
    prof.write_text('[detectors.encounter]\nwatch_lists = ["lists/ships.csv"]\n', encoding="utf-8")
    enc = next(d for d in load_detectors(prof, [], shore_only()) if isinstance(d, EncounterDetector))
    tug_and_ship = _pair(FAR, (52, 70))  # vessel "B" (type 70) alongside a tug: routine without the list
    assert opened(run([], [EncounterDetector([], None, shore_only())], tug_and_ship), "encounter") == []
    got = opened(run([], [enc], _pair(FAR, (52, 70))), "encounter")
    assert got and any("cargo ship reported by a partner agency" in r for r in got[0].reasons)
    # a list that does not exist stops the start-up with the setting to fix
    prof.write_text('[detectors.encounter]\nwatch_lists = ["lists/missing.csv"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="watch_lists"):
        load_detectors(prof, [], shore_only())
