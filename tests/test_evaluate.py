"""`mdacentre evaluate`: the Puerto Rico day with planted threats; recall is gated, the false-alarm budget reported.

The table is printed to the test log (`pytest -s`, or shown with -rP); it fails only when a planted
threat is not found in its window or a near miss fires.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from mdacentre.model.errors import ConfigError
from mdacentre.runtime.settings import load_settings
from mdacentre.service.evaluate import evaluate, format_table
from mdacentre.service.evaluate.report import reason_pattern
from mdacentre.service.evaluate.scenarios import load_scenarios

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "feeds" / "scenarios" / "puerto_rico.toml"


def test_puerto_rico_day_with_planted_threats(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = shared_data / "ais" / "marinecadastre_20200101_puerto_rico_usvi.csv"
    out = tmp_path / "evaluate.json"

    def child_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    cpu0 = child_cpu()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mdacentre",
            "evaluate",
            str(day),
            "--plant",
            str(SCENARIOS),
            "--json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(out.read_text())
    with capsys.disabled():
        print(f"\n{format_table(rep)}\n(evaluate: {child_cpu() - cpu0:.1f} s of CPU)")
    assert rep["schema"] == "mdacentre.evaluate/1"
    assert rep["tracks"] == 414 and rep["positions"] == 101580  # every real vessel and row was replayed
    cases = {c["id"]: c for c in rep["cases"]}
    assert len(cases) == len(load_scenarios(SCENARIOS))
    missed = [c["id"] for c in rep["cases"] if not c["near_miss"] and not c["ok"]]
    fired = [c["id"] for c in rep["cases"] if c["near_miss"] and not c["ok"]]
    assert not missed, f"planted threats not found in their window: {missed}"
    assert not fired, f"near misses that fired: {fired}"
    kinds = {c["kind"] for c in rep["cases"] if not c["near_miss"]}
    assert kinds == {"encounter", "rendezvous_air", "going_dark", "go_fast", "spoofing", "hazardous"}


def _small_plant(tmp_path: Path, expect_speed: float) -> Path:
    f = tmp_path / "one.toml"
    f.write_text(
        f"""
[[scenario]]
id = "run"
kind = "go_fast"
expect = "go_fast"
at = "02:00"
lat = 17.35
lon = -66.25
window_h = [0.0, 1.0]
[scenario.params]
heading_deg = 0.0
speed_kn = {expect_speed}
duration_h = 0.9
"""
    )
    return f


def test_a_planted_threat_that_does_not_fire_is_a_recall_miss(shared_data: Path, tmp_path: Path) -> None:
    background = shared_data / "ais" / "aisdb_marinecadastre_noaa_20230101.csv"
    settings = load_settings(None)
    found = evaluate([background], settings, _small_plant(tmp_path, 35.0))
    assert found["recall"] == {"planted": 1, "found": 1, "near_misses": 0, "near_misses_fired": 0}
    assert found["categories"]["go_fast"]["recall"] == 1.0
    for c in found["categories"].values():  # who raises the alerts, and how grave they are
        assert sum(n for _t, n in c["tracks_flagged_by_ship_type"]) >= c["tracks_flagged"]
        assert sum(c["by_level"].values()) == c["alerts"]
    missed = evaluate([background], settings, _small_plant(tmp_path, 18.0))  # too slow to be a go-fast
    assert missed["recall"]["found"] == 0 and missed["cases"][0]["ok"] is False
    assert missed["categories"]["go_fast"]["recall"] == 0.0
    # the planted track is not counted among the real ones
    assert found["tracks"] == missed["tracks"] == 1000
    # the report is stable: the same run gives the same JSON
    again = evaluate([background], settings, _small_plant(tmp_path, 35.0))
    assert json.dumps(again, sort_keys=True) == json.dumps(found, sort_keys=True)
    assert "| `go_fast` |" in format_table(found)


def test_scenario_files_are_validated(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[scenario]]\nid = "x"\nkind = "teleport"\nexpect = "go_fast"\nat = "02:00"\nlat = 1\nlon = 1\nwindow_h = [0, 1]\n'
    )
    with pytest.raises(ConfigError, match="scenario 1 \\(x\\)"):
        load_scenarios(bad)
    bad.write_text(
        '[[scenario]]\nid = "x"\nkind = "go_fast"\nexpect = "go_fast"\nat = "02:00"\nlat = 1\nlon = 1\nwindow_h = [0, 1]\n[scenario.params]\nwarp = 9\n'
    )
    with pytest.raises(ConfigError, match="warp"):
        load_scenarios(bad)


def test_reasons_are_counted_by_pattern() -> None:
    a = "silent for 6.0 h at sea (last seen 17.000, -76.000 at 2024-01-15T11:00:00Z)"
    b = "silent for 7.5 h at sea (last seen 18.100, -65.000 at 2024-01-15T13:00:00Z)"
    assert reason_pattern(a) == reason_pattern(b) == "silent for # h at sea"
    assert reason_pattern("MMSI 367592590 (RED HOOK I) entered Puerto Rico territorial sea") == (
        "MMSI # entered Puerto Rico territorial sea"
    )


def _replay_versions(paths: list[Path]) -> list[bytes]:
    import io

    from mdacentre.cli.replay import run_replay
    from mdacentre.service.core import JsonlSink

    buf = io.BytesIO()
    run_replay(load_settings(None, env={}), paths, JsonlSink(buf))
    return buf.getvalue().splitlines()


def _bad_clock_recording(shared_data: Path, tmp_path: Path) -> Path:
    """Three hours of the Puerto Rico day as NMEA lines, one of them dated 2100 half way through."""
    from conftest import position
    from timecuts import marinecadastre_nmea

    groups = marinecadastre_nmea(shared_data / "ais" / "marinecadastre_20200101_puerto_rico_usvi.csv", 3.0)
    bad = "".join(s + "\n" for s in position(311000999, 18.0, -66.0, 4102444800.0)).encode()
    half = len(groups) // 2
    out = tmp_path / "pr3_bad_clock.nmea"
    out.write_bytes(b"".join([*groups[:half], bad, *groups[half:]]))
    return out


@pytest.mark.parametrize(
    "names",
    [
        ["ais/marinecadastre_20200101_puerto_rico_usvi.csv"],  # an archive: decoded batches
        ["demo:caribbean_ais.nmea", "demo:caribbean_sbs.txt"],  # two line feeds merged by event time
        ["bad-clock"],  # one line feed in chunks, with a line whose clock is 75 years ahead
    ],
)
def test_evaluate_steps_as_replay_does(shared_data: Path, tmp_path: Path, names: list[str]) -> None:
    """Without planted threats, evaluate raises exactly the alerts of a replay of the same files.

    Both go through the same event-time steps and clock guards: an evaluation stepping per read
    chunk, or trusting the line dated 2100, expires every open alert and raises others."""
    from mdacentre.service.evaluate import run_evaluation

    paths = [
        _bad_clock_recording(shared_data, tmp_path)
        if n == "bad-clock"
        else REPO / "feeds" / "demo" / n[5:]
        if n.startswith("demo:")
        else shared_data / n
        for n in names
    ]
    replay = [json.loads(x) for x in _replay_versions(paths)]
    assert replay, "nothing to compare"
    ev = run_evaluation(paths, load_settings(None, env={}))
    assert set(ev.log.first) == {a["id"] for a in replay}
    last = {a["id"]: a for a in replay}  # the last version of each alert, field for field
    assert {k: a.to_json() for k, a in ev.log.last.items()} == last
