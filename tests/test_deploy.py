"""The hardened systemd unit in deploy/: valid, sandboxed, restarted on failure."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "mdacentre.service"


def _settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def test_unit_is_hardened() -> None:
    s = _settings()
    assert s["User"] == ["mdacentre"] and s["Restart"] == ["on-failure"]
    assert s["Type"] == ["notify"] and s["WatchdogSec"] == ["30s"]
    assert s["ProtectSystem"] == ["strict"] and s["NoNewPrivileges"] == ["yes"]
    assert (
        s["ReadWritePaths"] == ["/var/lib/mdacentre"] and "--data-dir /var/lib/mdacentre" in s["ExecStart"][0]
    )
    for key in ("ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictSUIDSGID", "LockPersonality"):
        assert s[key] == ["yes"], key
    assert s["CapabilityBoundingSet"] == [""]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_unit_verifies_and_its_exposure_is_low(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "mdacentre"
    unit = tmp_path / "mdacentre.service"
    unit.write_text(UNIT.read_text().replace("/opt/mdacentre/.venv/bin/mdacentre", str(exe)))
    res = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr
    sec = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"Overall exposure level for mdacentre.service: ([0-9.]+)", sec.stdout)
    if m is None:
        pytest.skip(f"this systemd-analyze has no offline security report: {sec.stderr[:200]}")
    assert float(m.group(1)) <= 2.0, sec.stdout[-2000:]
