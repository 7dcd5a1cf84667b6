"""Operator files read by pydantic models: unknown keys, wrong types and missing files explained in
one line each, and the JSON Schemas shipped next to the files equal to what the models generate."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest

from mdacentre.alerting.routing import load_rules
from mdacentre.cli import schemas
from mdacentre.detect.registry import load_detectors
from mdacentre.ingest.feeds import load_feeds
from mdacentre.model.errors import ConfigError
from mdacentre.risk.profiles import load_profiles
from mdacentre.runtime.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent


def _one_line(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and "Traceback" not in msg and "pydantic" not in msg.lower(), msg
    return msg


# -- unknown keys -------------------------------------------------------------------------------------


def test_unknown_keys_are_refused_with_file_key_and_suggestion(tmp_path: Path) -> None:
    feed = tmp_path / "feeds" / "a.toml"
    feed.parent.mkdir()
    feed.write_text('name = "a"\nkind = "ais"\ntransport = "udp"\nprot = 10110\n')
    with pytest.raises(ConfigError) as e:
        load_feeds(feed.parent)
    assert _one_line(e).startswith(f"{feed}: unknown key 'prot' (did you mean 'port'?)")

    feed.write_text('name = "a"\nkind = "ais"\ntransport = "udp"\nport = 1\noptions = { baud = 9600 }\n')
    with pytest.raises(
        ConfigError, match=r"a\.toml: options: unknown key 'baud' \(did you mean 'baudrate'\?\)"
    ):
        load_feeds(feed.parent)

    prof = tmp_path / "profiles.toml"
    text = (REPO / "geofences" / "profiles.toml").read_text()
    prof.write_text(text.replace('inside = ["caribbean_sea"]', 'insde = ["caribbean_sea"]', 1))
    with pytest.raises(ConfigError) as e:
        load_profiles(prof, [])
    assert (
        f"{prof}: profile #1 ('hazardous_cargo_caribbean'): when: unknown condition 'insde' "
        "(did you mean 'inside'?)" in _one_line(e)
    )

    prof.write_text("[detectors.go_fast]\nmin_sped_kn = 30\n")
    with pytest.raises(ConfigError) as e:
        load_detectors(prof, [])
    assert "detectors.go_fast: unknown key 'min_sped_kn' (did you mean 'min_speed_kn'?)" in _one_line(e)

    settings = tmp_path / "mda.toml"
    settings.write_text("[http]\nprot = 9000\n")
    with pytest.raises(ConfigError) as e:
        load_settings(settings, env={})
    assert _one_line(e).startswith(f"{settings}: http: unknown setting 'prot' (did you mean 'port'?)")


def test_unknown_environment_setting_names_the_variable() -> None:
    with pytest.raises(ConfigError) as e:
        load_settings(None, env={"MDA_MQTT_HOTS": "broker"})
    assert "MDA_MQTT: unknown setting 'hots' (did you mean 'host'?)" in _one_line(e)
    with pytest.raises(
        ConfigError, match=r"MDA_CORE_DWELL_S must be a number \('long' is not a valid float\)"
    ):
        load_settings(None, env={"MDA_CORE_DWELL_S": "long"})


# -- wrong types -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "feed",
            'name = "a"\nkind = "ais"\ntransport = "file"\npath = "x"\nenabled = "yes"\n',
            "enabled must be true or false ('yes' is not a valid bool)",
        ),
        (
            "feed",
            'name = "a"\nkind = "ais"\ntransport = "http_poll"\nurl = "http://x"\ninterval_s = 0\n',
            "interval_s must be > 0, not 0",
        ),
        (
            "profiles",
            '[[profile]]\nid = "p"\ncategory = "c"\nweight = "high"\nlevel = "high"\n',
            "profile #1 ('p'): weight must be a number ('high' is not a valid float)",
        ),
        (
            "profiles",
            '[[profile]]\nid = "p"\ncategory = "c"\nweight = 5\nlevel = "high"\n[profile.when]\nnight = 1\n',
            "profile #1 ('p'): when.night must be true or false (1 is not a valid bool)",
        ),
        (
            "detectors",
            "[detectors.ais_gap]\nthreshold_h = -2\n",
            "detectors.ais_gap.threshold_h must be >= 0",
        ),
        (
            "detectors",
            "[detectors.transits]\nzone_kinds = 'eez'\n",
            "detectors.transits.zone_kinds must be a list",
        ),
        ("settings", "[core]\ngrid_deg = 0\n", "core.grid_deg: 0.0 must be positive"),
        ("settings", "[mqtt]\nqos = 3\n", "mqtt.qos: 3 is not an MQTT QoS: use 0, 1 or 2"),
        (
            "routing",
            (REPO / "alerting" / "routing.toml").read_text().replace("tracks = true", "tracks = 'yes'", 1),
            "agency #1 ('rsc-desk'): tracks must be true or false ('yes' is not a valid bool)",
        ),
    ],
)
def test_wrong_types_name_the_dotted_key(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / ("feeds" if name == "feed" else "") / f"{name}.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    load = {
        "feed": lambda: load_feeds(path.parent),
        "profiles": lambda: load_profiles(path, []),
        "detectors": lambda: load_detectors(path, []),
        "settings": lambda: load_settings(path, env={}),
        "routing": lambda: load_rules(path),
    }[name]
    with pytest.raises(ConfigError) as e:
        load()
    assert _one_line(e) == f"{path}: {expected}" or _one_line(e).startswith(f"{path}: {expected}")


def test_several_problems_are_one_line_each(tmp_path: Path) -> None:
    p = tmp_path / "mda.toml"
    p.write_text("[mqtt]\nport = 'x'\nqos = 7\n[http]\nport = 99999\n")
    with pytest.raises(ConfigError) as e:
        load_settings(p, env={})
    lines = str(e.value).splitlines()
    assert len(lines) == 3 and all(line.startswith(f"{p}: ") for line in lines)
    keys = [line.removeprefix(f"{p}: ") for line in lines]
    assert keys[0].startswith("mqtt.port must be a whole number")
    assert keys[1].startswith("mqtt.qos: 7 is not an MQTT QoS")
    assert keys[2].startswith("http.port: 99999 is not a TCP port")


# -- missing files -----------------------------------------------------------------------------------


def test_missing_files_say_which_file_and_what_to_pass(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere.toml"
    cases = [
        (lambda: load_settings(nowhere, env={}), f"cannot read settings file {nowhere}", "--config"),
        (lambda: load_profiles(nowhere, []), f"cannot read risk profiles {nowhere}", "--profiles"),
        (lambda: load_detectors(nowhere, []), f"cannot read detector settings {nowhere}", "--profiles"),
        (lambda: load_rules(nowhere), f"cannot read routing rules {nowhere}", "--rules"),
        (lambda: load_feeds(tmp_path / "feeds"), f"feed directory {tmp_path / 'feeds'}", "does not exist"),
    ]
    for load, what, fix in cases:
        with pytest.raises(ConfigError) as e:
            load()
        msg = _one_line(e)
        assert what in msg and fix in msg, msg


def test_a_missing_default_folder_names_the_setting_and_variable(tmp_path: Path) -> None:
    s = load_settings(None, env={"MDA_WEB_DIR": str(tmp_path / "no-web")})
    assert s.existing("zones_dir") == s.zones_dir
    with pytest.raises(ConfigError) as e:
        s.existing("web_dir")
    msg = _one_line(e)
    assert str(tmp_path / "no-web") in msg and "web_dir" in msg and "MDA_WEB_DIR" in msg
    r = subprocess.run(
        [sys.executable, "-m", "mdacentre", "replay", str(REPO / "feeds" / "samples" / "kingston_sbs.txt")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "MDA_ZONES_DIR": str(tmp_path / "zones")},
    )
    assert r.returncode == 2 and "MDA_ZONES_DIR" in r.stderr and "Traceback" not in r.stderr


def test_settings_sections_are_validated_values() -> None:
    from dataclasses import replace

    s = Settings()
    assert replace(s, mqtt=replace(s.mqtt, port=1884)).mqtt.port == 1884
    with pytest.raises(ValueError, match="not a TCP port"):
        replace(s.mqtt, port=70000)


# -- schemas -----------------------------------------------------------------------------------------


def test_shipped_schemas_are_what_the_models_generate() -> None:
    assert schemas.stale(REPO) == [], "run `mdacentre schema --write` and commit the result"
    r = subprocess.run(
        [sys.executable, "-m", "mdacentre", "schema", "--check"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr


def test_schema_check_fails_when_a_model_and_its_schema_differ(tmp_path: Path) -> None:
    assert sorted(schemas.stale(tmp_path)) == sorted(s.path for s in schemas.SCHEMAS)
    assert sorted(schemas.write(tmp_path)) == sorted(s.path for s in schemas.SCHEMAS)
    assert schemas.stale(tmp_path) == []
    feed = tmp_path / "feeds" / "feed.schema.json"
    doc = json.loads(feed.read_text())
    del doc["properties"]["interval_s"]
    feed.write_text(json.dumps(doc, indent=2) + "\n")
    assert schemas.stale(tmp_path) == ["feeds/feed.schema.json"]
    r = subprocess.run(
        [sys.executable, "-m", "mdacentre", "schema", "--check", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "feed.schema.json: out of date" in r.stderr


def _validator(path: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO / path).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_shipped_operator_files_pass_their_schemas_and_point_at_them() -> None:
    pairs = [
        ("feeds/feed.schema.json", sorted((REPO / "feeds" / "examples").glob("*.toml"))),
        ("alerting/routing.schema.json", [REPO / "alerting" / "routing.toml"]),
        ("geofences/profiles.schema.json", [REPO / "geofences" / "profiles.toml"]),
    ]
    for schema, files in pairs:
        v = _validator(schema)
        for f in files:
            assert list(v.iter_errors(tomllib.loads(f.read_text()))) == [], f
            first = f.read_text().splitlines()[0]
            assert first.startswith("#:schema ") and (f.parent / first.split()[1]).resolve() == REPO / schema


def test_schemas_refuse_what_the_loaders_refuse() -> None:
    feed = _validator("feeds/feed.schema.json")
    good = {"name": "a", "kind": "ais", "transport": "udp", "port": 10110}
    assert feed.is_valid(good)
    assert not feed.is_valid({**good, "prot": 1})
    assert not feed.is_valid({**good, "kind": "nmea2000"})
    assert not feed.is_valid({**good, "options": {"baud": 1}})
    prof = _validator("geofences/profiles.schema.json")
    assert not prof.is_valid({"detectors": {"warp": {}}})
    assert not prof.is_valid({"detectors": {"ais_gap": {"threshold_h": "6"}}})
    assert not prof.is_valid({"detectors": {"aircraft": {"squawk_scores": {"1234": 5}}}})
    assert prof.is_valid({"detectors": {"aircraft": {"squawk_scores": {"7700": 50}}}})
    settings = _validator("docs/settings.schema.json")
    assert settings.is_valid({"mqtt": {"host": "broker", "port": 8883}})
    assert not settings.is_valid({"mqtt": {"hots": "broker"}})
