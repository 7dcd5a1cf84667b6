"""The main job as a user runs it: `mdacentre demo` brings up the embedded broker, the map and the
bundled feed, and the scripted hazardous-cargo tanker raises its alert within the first minute."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import aiomqtt
import orjson

from mdacentre.sinks.broker import free_port, port_open

REPO = Path(__file__).resolve().parent.parent


def signed_in_tracks(base: str, password: str) -> list[dict[str, object]]:
    """The picture is refused without sign-in; the first user ``watch`` signs in and reads it."""
    try:
        urllib.request.urlopen(f"{base}/api/tracks", timeout=10)
        raise AssertionError("the picture answered without sign-in")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    login = urllib.request.Request(
        f"{base}/api/session",
        data=orjson.dumps({"name": "watch", "password": password}),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=10) as r:
        cookie = next(c for c in r.headers.get_all("Set-Cookie") if c.startswith("mda_session="))
    req = urllib.request.Request(f"{base}/api/tracks", headers={"Cookie": cookie.split(";", 1)[0]})
    with urllib.request.urlopen(req, timeout=10) as r:
        return list(orjson.loads(r.read()))


def test_demo_raises_the_hazardous_cargo_alert_within_a_minute(tmp_path: Path) -> None:
    mqtt_port, http_port = free_port(), free_port()
    cmd = [sys.executable, "-m", "mdacentre", "demo", "--data-dir", str(tmp_path / "var"),
           "--http-port", str(http_port), "--mqtt-port", str(mqtt_port)]  # fmt: skip
    started = time.monotonic()
    password = "demo test password 1"
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env={**os.environ, "MDA_AUTH_BOOTSTRAP_PASSWORD": password},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    async def first_hazardous() -> tuple[float, dict[str, object], str]:
        while not port_open("127.0.0.1", mqtt_port):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            await asyncio.sleep(0.2)
        creds = tmp_path / "var" / "mosquitto" / "credentials" / "rsc-desk.txt"
        while not creds.is_file():  # the embedded broker authenticates: the regional desk's user
            await asyncio.sleep(0.2)
        desk = tomllib.loads(creds.read_text(encoding="utf-8"))
        async with aiomqtt.Client(
            "127.0.0.1", mqtt_port, username=desk["username"], password=desk["password"]
        ) as c:
            await c.subscribe("mdacentre/v1/alerts/+/hazardous_cargo/#", qos=1)
            async for msg in c.messages:
                payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                return time.monotonic() - started, orjson.loads(payload), str(msg.topic)
        raise AssertionError("subscription ended")

    try:
        elapsed, alert, topic = asyncio.run(asyncio.wait_for(first_hazardous(), 90))
        tracks = signed_in_tracks(f"http://127.0.0.1:{http_port}", password)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert elapsed < 60, f"first hazardous_cargo alert after {elapsed:.0f} s"
    assert topic == "mdacentre/v1/alerts/XX/hazardous_cargo/high"
    assert alert["track"]["name"] == "OCEAN RANGER" and alert["zone"]["id"] == "caribbean_sea"  # type: ignore[index]
    assert len(tracks) > 100  # the live picture holds the demo traffic
