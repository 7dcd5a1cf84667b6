"""The command line and the settings: help texts, clear errors, environment overrides, decode output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mdacentre.model.errors import ConfigError
from mdacentre.runtime.settings import load_settings

CMDS = ["serve", "demo", "replay", "decode", "bench", "zones", "broker-config"]


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mdacentre", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("cmd", CMDS)
def test_every_command_explains_its_options(cmd: str) -> None:
    r = _cli(cmd, "--help")
    assert r.returncode == 0 and "usage: mdacentre " + cmd in r.stdout


def test_settings_file_then_environment(tmp_path: Path) -> None:
    f = tmp_path / "mda.toml"
    f.write_text('[mqtt]\nhost = "broker.local"\nport = 8883\ntls = true\n[http]\nport = 9000\n')
    s = load_settings(f, env={"MDA_MQTT_PORT": "1884", "MDA_HTTP_ACK_TOKEN": "s3cret", "OTHER": "x"})
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.tls, s.http.port, s.http.ack_token) == (
        "broker.local",
        1884,
        True,
        9000,
        "s3cret",
    )


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[mqtt]\nhots = 'x'\n", {}, "unknown setting 'hots'"),
        ("[mqtt]\nport = 'many'\n", {}, "is not a valid int"),
        ("", {"MDA_HTTP_PORT": "70000"}, "is not a TCP port"),
        ("[mqtt\n", {}, "not valid TOML"),
    ],
)
def test_bad_settings_say_what_to_fix(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(f, env=env)


def test_user_error_is_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    r = _cli("replay", str(tmp_path / "missing.nmea"))
    assert r.returncode == 2
    assert r.stderr.startswith("mdacentre: error: replay:") and "Traceback" not in r.stderr


def test_decode_summary_counts_types_and_rejects(shared_data: Path) -> None:
    r = _cli("decode", "--summary", str(shared_data / "ais" / "pyais_nmea_data_sample.txt"))
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["records_by_type"]["position:1"] == 667
    assert s["rejects"]["empty_payload"] == 100


def test_decode_prints_json_lines(shared_data: Path) -> None:
    r = _cli("decode", str(shared_data / "ais" / "libais_tagblock.nmea"))
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    assert {x["record"] for x in recs} == {"position", "static"}
    assert all(x["t"] > 1.4e9 for x in recs)  # tag-block times, not the wall clock
