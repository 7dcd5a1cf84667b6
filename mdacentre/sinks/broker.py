"""Run a real Mosquitto broker as a child process (embedded broker of the service, and tests)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from mdacentre.model.errors import ConfigError, DeliveryError


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Mosquitto:
    """A Mosquitto process listening on ``host:port`` with the given extra configuration lines."""

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        *,
        config: str = "allow_anonymous true\n",
        workdir: Path | None = None,
        persistence: bool = False,
    ) -> None:
        exe = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if exe is None:
            raise ConfigError(
                "the mosquitto broker is not installed; install it (apt-get install mosquitto) "
                "or configure an external broker with MDA_MQTT_HOST"
            )
        self.exe = exe
        self.host = host
        self.port = port
        self._tmp = tempfile.TemporaryDirectory(prefix="mda-mosquitto-") if workdir is None else None
        self.workdir = Path(self._tmp.name) if self._tmp is not None else Path(str(workdir))
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [f"listener {port} {host}", config.rstrip("\n")]
        self._dbdir: Path | None = None
        if persistence:
            self._dbdir = self._persistence_dir()
            lines += ["persistence true", f"persistence_location {self._dbdir}/"]
        self.conf = self.workdir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.workdir / "mosquitto.log"

    def _persistence_dir(self) -> Path:
        """A directory the broker can write its database to.

        Started as root, Mosquitto drops to the ``mosquitto`` user; a directory under a root-only
        parent (pytest's tmp_path, for one) is then unwritable and the broker silently loses its
        persistent sessions at shutdown. Such a broker gets its own directory owned by that user.
        """
        if os.geteuid() != 0:
            return self.workdir
        try:
            pw = pwd.getpwnam("mosquitto")
        except KeyError:
            return self.workdir
        d = Path(tempfile.mkdtemp(prefix="mda-mosquitto-db-"))
        os.chown(d, pw.pw_uid, pw.pw_gid)
        return d

    def start(self, timeout: float = 10.0) -> Mosquitto:
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DeliveryError(
                    f"mosquitto exited at start: {self.log.read_text(errors='replace')[-800:]}"
                )
            if port_open(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise DeliveryError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def close(self) -> None:
        self.stop()
        if self._dbdir is not None and self._dbdir != self.workdir:
            shutil.rmtree(self._dbdir, ignore_errors=True)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
