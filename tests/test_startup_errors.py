"""A bad environment at start: one clear line naming what to fix, and a non-zero exit."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdacentre.sinks.broker import free_port


def serve(
    tmp: Path, data_dir: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    feeds = tmp / "feeds"
    feeds.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "mdacentre", "serve", "--feeds", str(feeds), "--data-dir", str(data_dir)]
    cmd += ["--mqtt-host", "127.0.0.1", "--mqtt-port", str(free_port())]
    if "--http-port" not in extra:
        cmd += ["--http-port", str(free_port())]
    cmd += list(extra)
    return subprocess.run(
        cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60, check=False
    )


def one_clear_line(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode != 0, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("mdacentre: error:")]
    assert len(errors) == 1, res.stderr
    return errors[0]


@pytest.fixture()
def readonly_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory the service cannot write to: a read-only mount when root, else mode 0555."""
    d = tmp_path / "ro"
    d.mkdir()
    if os.geteuid() == 0:
        if shutil.which("mount") is None:
            pytest.skip("root without mount(8): cannot make a read-only directory")
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(d)], check=False)
        if ok.returncode != 0:
            pytest.skip("cannot mount a read-only tmpfs here")
        try:
            yield d
        finally:
            subprocess.run(["umount", str(d)], check=False)
    else:
        d.chmod(0o555)
        try:
            yield d
        finally:
            d.chmod(0o755)


def test_read_only_data_dir(tmp_path: Path, readonly_dir: Path) -> None:
    line = one_clear_line(serve(tmp_path, readonly_dir))
    assert str(readonly_dir) in line and ("read-only" in line or "not writable" in line), line
    assert "--data-dir" in line


def test_missing_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    missing = tmp_path / "a-file" / "var"
    line = one_clear_line(serve(tmp_path, missing))
    assert str(missing) in line and "missing" in line and "--data-dir" in line, line


def test_http_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        line = one_clear_line(serve(tmp_path, tmp_path / "var", "--http-port", str(port)))
    assert f"port {port}" in line and "in use" in line and "--http-port" in line, line


def test_bad_ca_certificate(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    res = serve(tmp_path, tmp_path / "var", env={"MDA_MQTT_TLS": "1", "MDA_MQTT_CA_FILE": str(bad)})
    line = one_clear_line(res)
    assert str(bad) in line and "certificate" in line, line
    missing = serve(
        tmp_path, tmp_path / "var", env={"MDA_MQTT_TLS": "1", "MDA_MQTT_CA_FILE": str(tmp_path / "no.pem")}
    )
    assert "does not exist" in one_clear_line(missing)
