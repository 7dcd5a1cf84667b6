"""``mdacentre bench --live``: line in through the real TCP ingest, alert out on a real Mosquitto.

A real ``mdacentre serve`` process (its own data directory, a ``tcp_server`` AIS feed) and a real
Mosquitto broker are started on free ports. This process sends AIS lines at a fixed rate: background
position reports of 2,000 vessels in the open Atlantic (no alert), and every ``probe_every_s`` one
*probe*: a hazardous-cargo tanker (static report, then one position inside the Caribbean Sea) that
raises exactly one alert. A QoS 1 subscriber on the broker takes the time each probe's alert arrives.

Per rate: ``p50_ms`` / ``p99_ms`` / ``max_ms`` from writing the probe's position line to the TCP
socket until its alert is received from the broker, ``lost`` (probes with no alert 10 s after the
run), and the lines/s actually sent. The same :class:`LiveRig` drives the chaos tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
from pyais import encode_dict

from mdacentre.sinks.broker import Mosquitto, free_port

PROBE_MMSI0 = 538_100_000
BACKGROUND_MMSI0 = 367_100_000
PREFIX = "mdacentre/v1"


def _encode(fields: dict[str, Any]) -> list[bytes]:
    return [s.encode() for s in encode_dict(fields, radio_channel="A", talker_id="AI", sentence_type="VDM")]


def background_lines(n: int = 2000) -> list[bytes]:
    """Position reports of ``n`` vessels spread over the open Atlantic (no zone, no alert)."""
    out: list[bytes] = []
    for i in range(n):
        lat = 20.0 + (i % 50) * 0.2
        lon = -45.0 + (i // 50) * 0.2
        out += _encode(
            {
                "msg_type": 1,
                "mmsi": BACKGROUND_MMSI0 + i,
                "lat": lat,
                "lon": lon,
                "speed": 0.0,
                "course": 90.0,
            }
        )
    return out


def probe_lines(k: int) -> tuple[list[bytes], list[bytes]]:
    """(static report, position inside the Caribbean Sea) of probe ``k``: one hazardous-cargo alert."""
    mmsi = PROBE_MMSI0 + k
    head = _encode(
        {
            "msg_type": 5,
            "mmsi": mmsi,
            "shipname": f"PROBE {k}",
            "ship_type": 81,
            "callsign": "PRB",
            "to_bow": 100,
            "to_stern": 20,
            "to_port": 10,
            "to_starboard": 10,
        }
    )
    lat = 14.0 + (k % 40) * 0.05
    lon = -70.0 + ((k // 40) % 40) * 0.05
    pos = _encode({"msg_type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 12.0, "course": 270.0})
    return head, pos


class LiveRig:
    """A real broker, a real ``mdacentre serve`` with a TCP feed, a sender and a subscriber."""

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str] | None = None,
        broker_config: str = "",
        persistence: bool = True,
        udp: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self.data = self.workdir / "var"
        self.feed_port = free_port()
        self.http_port = free_port()
        self.mqtt_port = free_port()
        # the map and API need a signed-in user: the service's first user gets this password
        self.password = secrets.token_urlsafe(18)
        self.env = {
            **os.environ,
            "MDA_MQTT_CLIENT_ID": "mda-live",
            "MDA_AUTH_BOOTSTRAP_PASSWORD": self.password,
            **(env or {}),
        }
        feeds = self.workdir / "feeds"
        feeds.mkdir(parents=True, exist_ok=True)
        transport = "udp" if udp else "tcp_server"
        (feeds / "live.toml").write_text(
            f'name = "live"\nkind = "ais"\ntransport = "{transport}"\nhost = "127.0.0.1"\nport = {self.feed_port}\n'
        )
        self.feeds = feeds
        self.broker = Mosquitto(
            self.mqtt_port,
            workdir=self.workdir / "broker",
            persistence=persistence,
            config="allow_anonymous true\n"
            + ("autosave_interval 1\n" if persistence else "")
            + broker_config,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.got: dict[tuple[str, int], int] = {}
        self.probe_seen: dict[int, float] = {}  # probe number -> wall time its alert arrived
        self.probe_sent: dict[int, float] = {}
        self.health_msgs: list[dict[str, Any]] = []
        self._writer: asyncio.StreamWriter | None = None
        self._bg = background_lines()
        self._bg_i = 0
        self._sub: asyncio.Task[None] | None = None
        self._sub_stop = asyncio.Event()
        self.log = self.workdir / "service.log"

    # -- processes
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "mdacentre",
            "serve",
            "--feeds",
            str(self.feeds),
            "--data-dir",
            str(self.data),
            "--http-port",
            str(self.http_port),
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            str(self.mqtt_port),
        ]

    def start_service(self) -> None:
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(self.command(), env=self.env, stdout=logf, stderr=subprocess.STDOUT)

    def stop_service(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        self._writer = None

    def health(self, path: str = "/readyz") -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of a health endpoint; (0, {}) when the service does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=5) as r:
                return int(r.status), dict(orjson.loads(r.read()))
        except urllib.error.HTTPError as exc:
            return int(exc.code), dict(orjson.loads(exc.read()))
        except (OSError, ValueError):
            return 0, {}

    async def ahealth(self, path: str = "/readyz") -> tuple[int, dict[str, Any]]:
        return await asyncio.to_thread(self.health, path)

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"service exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            code, _ = await self.ahealth()
            if code == 200:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(
            f"service not ready in {timeout} s: {self.health()} {self.log.read_text()[-2000:]}"
        )

    async def wait_reason(self, reason: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll /readyz until it reports ``reason``; the body that did."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            _code, last = await self.ahealth()
            if reason in last.get("reasons", []):
                return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"/readyz never reported {reason}; last: {last}")

    # -- subscriber
    async def start_subscriber(self) -> None:
        self._sub_stop.clear()
        self._sub = asyncio.create_task(self._subscribe())
        await asyncio.sleep(0.5)

    async def stop_subscriber(self) -> None:
        self._sub_stop.set()
        if self._sub is not None:
            self._sub.cancel()
            await asyncio.gather(self._sub, return_exceptions=True)

    async def _subscribe(self) -> None:
        while not self._sub_stop.is_set():
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", self.mqtt_port, identifier="live-sub", clean_session=False
                ) as c:
                    await c.subscribe(f"{PREFIX}/alerts/#", qos=1)
                    await c.subscribe(f"{PREFIX}/service/health", qos=1)
                    async for msg in c.messages:
                        now = time.time()
                        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                        if str(msg.topic).endswith("/service/health"):
                            with contextlib.suppress(ValueError):
                                self.health_msgs.append(dict(orjson.loads(payload)))
                            continue
                        d = orjson.loads(payload)
                        k = (d["id"], d["version"])
                        self.got[k] = self.got.get(k, 0) + 1
                        ident = int(d.get("track", {}).get("id") or 0)
                        if PROBE_MMSI0 <= ident < PROBE_MMSI0 + 1_000_000 and d["version"] == 1:
                            self.probe_seen.setdefault(ident - PROBE_MMSI0, now)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    # -- sender
    async def connect_feed(self, timeout: float = 30.0) -> asyncio.StreamWriter:
        deadline = time.monotonic() + timeout
        while True:
            try:
                _r, self._writer = await asyncio.open_connection("127.0.0.1", self.feed_port)
                return self._writer
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def send(
        self, rate: float, seconds: float, probe_every_s: float = 0.05, first_probe: int = 0
    ) -> int:
        """Send ``rate`` lines/s for ``seconds`` with a probe every ``probe_every_s``; the next probe number."""
        writer = self._writer if self._writer is not None else await self.connect_feed()
        tick = 0.005
        t0 = time.monotonic()
        next_probe = t0
        k = first_probe
        sent = 0.0
        while True:
            now = time.monotonic()
            if now - t0 >= seconds:
                break
            due = int(rate * (now - t0)) - int(sent)
            if due > 0:
                lines = [self._bg[(self._bg_i + j) % len(self._bg)] for j in range(due)]
                self._bg_i = (self._bg_i + due) % len(self._bg)
                writer.write(b"\n".join(lines) + b"\n")
                sent += due
            if now >= next_probe:
                head, pos = probe_lines(k)
                writer.write(b"\n".join(head) + b"\n")
                writer.write(b"\n".join(pos) + b"\n")
                self.probe_sent[k] = time.time()
                k += 1
                sent += len(head) + len(pos)
                next_probe += probe_every_s
            try:
                await writer.drain()
            except OSError:
                self._writer = None
                writer = await self.connect_feed()
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - now)))
        self.lines_sent = sent
        self.send_seconds = time.monotonic() - t0
        return k

    # -- outcome
    def outbox_versions(self) -> tuple[set[tuple[str, int]], int]:
        """(id, version) of every alert version queued in the store, and how many still wait."""
        db = self.data / "mdacentre.sqlite"
        with contextlib.closing(sqlite3.connect(db, timeout=30)) as c:
            rows = c.execute("SELECT topic, payload, delivered FROM outbox").fetchall()
        out: set[tuple[str, int]] = set()
        waiting = 0
        for topic, payload, delivered in rows:
            if "/alerts/" in topic:
                d = orjson.loads(payload)
                out.add((d["id"], d["version"]))
                waiting += delivered is None
        return out, waiting

    async def wait_delivered(self, timeout: float = 60.0) -> set[tuple[str, int]]:
        """Wait until every alert version in the store reached the subscriber; the ones that did not."""
        deadline = time.monotonic() + timeout
        missing: set[tuple[str, int]] = set()
        while time.monotonic() < deadline:
            versions, _waiting = await asyncio.to_thread(self.outbox_versions)
            missing = versions - set(self.got)
            if not missing:
                return missing
            await asyncio.sleep(0.3)
        return missing

    def latencies_ms(self, probes: range) -> tuple[list[float], int]:
        lat = sorted(
            1000.0 * (self.probe_seen[k] - self.probe_sent[k]) for k in probes if k in self.probe_seen
        )
        lost = sum(1 for k in probes if k not in self.probe_seen)
        return lat, lost

    def close(self) -> None:
        self.stop_service()
        self.broker.close()


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    i = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return round(xs[i], 1)


async def _run_live(rates: list[int], seconds: float, workdir: Path) -> dict[str, Any]:
    rig = LiveRig(workdir, persistence=False)  # a broker of the bench only: nothing to keep
    rig.broker.start()
    out: dict[str, Any] = {}
    try:
        rig.start_service()
        await rig.start_subscriber()
        await rig.wait_ready()
        await rig.connect_feed()
        await rig.send(500, 2.0, probe_every_s=0.5)  # warm-up: imports, first tracks, first alerts
        await asyncio.sleep(2.0)
        k = 1000
        for rate in rates:
            first = k
            assert rig.proc is not None
            cpu0, wall0 = _cpu_s(rig.proc.pid), time.monotonic()
            k = await rig.send(rate, seconds, first_probe=k)
            cpu = (_cpu_s(rig.proc.pid) - cpu0) / (time.monotonic() - wall0)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(j not in rig.probe_seen for j in range(first, k)):
                await asyncio.sleep(0.1)
            lat, lost = rig.latencies_ms(range(first, k))
            out[f"live_{rate}_lines_per_s_sent"] = round(rig.lines_sent / rig.send_seconds)
            out[f"live_{rate}_probes"] = k - first
            out[f"live_{rate}_p50_ms"] = _pct(lat, 0.50)
            out[f"live_{rate}_p99_ms"] = _pct(lat, 0.99)
            out[f"live_{rate}_max_ms"] = round(lat[-1], 1) if lat else float("nan")
            out[f"live_{rate}_lost"] = lost
            out[f"live_{rate}_service_cpu_pct"] = round(100 * cpu, 1)  # of one core, while sending
            await asyncio.sleep(1.0)
        missing = await rig.wait_delivered(30)
        out["live_alert_versions_not_delivered"] = len(missing)
        out["load_average_1min"] = round(os.getloadavg()[0], 2)  # other work on the machine meanwhile
    finally:
        await rig.stop_subscriber()
        rig.close()
    return out


async def _run_udp(rates: list[int], seconds: float, workdir: Path) -> dict[str, Any]:
    """One AIS line per datagram at each rate: datagrams the kernel dropped, lines that arrived."""
    rig = LiveRig(workdir, persistence=False, udp=True)
    rig.broker.start()
    out: dict[str, Any] = {}
    lines = rig._bg
    try:
        rig.start_service()
        await rig.wait_ready()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for rate in rates:
                before = _metric_sum(rig, "mda_lines_total")
                drops0 = _metric_sum(rig, "mda_feed_kernel_drops")
                t0 = time.monotonic()
                sent = 0
                while (now := time.monotonic()) - t0 < seconds:
                    due = int(rate * (now - t0)) - sent
                    for j in range(due):
                        s.sendto(lines[(sent + j) % len(lines)], ("127.0.0.1", rig.feed_port))
                    sent += max(0, due)
                    await asyncio.sleep(0.002)
                await asyncio.sleep(3.0)  # the health loop refreshes the drop gauge
                got = _metric_sum(rig, "mda_lines_total") - before
                drops = _metric_sum(rig, "mda_feed_kernel_drops") - drops0
                out[f"udp_{rate}_datagrams_sent"] = sent
                out[f"udp_{rate}_kernel_drops"] = int(drops)
                out[f"udp_{rate}_lines_processed"] = int(got)
                out[f"udp_{rate}_lost_pct"] = round(100.0 * (sent - got) / max(1, sent), 2)
        out["load_average_1min"] = round(os.getloadavg()[0], 2)
    finally:
        rig.close()
    return out


def metrics_text(rig: LiveRig) -> str:
    """``/metrics`` of the rig's service, signed in as its first user ``watch``."""
    import http.cookiejar

    base = f"http://127.0.0.1:{rig.http_port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = urllib.request.Request(
        f"{base}/api/session",
        data=orjson.dumps({"name": "watch", "password": rig.password}),
        headers={"Content-Type": "application/json"},
    )
    opener.open(login, timeout=5).close()
    with opener.open(f"{base}/metrics", timeout=5) as r:
        return str(r.read().decode())


def _metric_sum(rig: LiveRig, name: str) -> float:
    try:
        text = metrics_text(rig)
    except OSError:
        return float("nan")
    return sum(
        float(ln.rsplit(" ", 1)[1])
        for ln in text.splitlines()
        if ln.startswith(name + "{") or ln.startswith(name + " ")
    )


def run_udp(rates: list[int] | None = None, seconds: float = 10.0) -> dict[str, Any]:
    """UDP ingest at each rate (datagrams/s): kernel drops and lines that reached the pipeline."""
    work = Path(tempfile.mkdtemp(prefix="mda-bench-udp-"))
    try:
        return asyncio.run(_run_udp(rates or [2000, 20000], seconds, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_live(rates: list[int] | None = None, seconds: float = 10.0) -> dict[str, Any]:
    """The live figures (see module docstring) at each rate in lines/s."""
    work = Path(tempfile.mkdtemp(prefix="mda-bench-live-"))
    try:
        return asyncio.run(_run_live(rates or [2000, 10000, 50000], seconds, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
