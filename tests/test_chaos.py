"""Chaos on a running ``mdacentre serve``: real faults, 0 alert versions lost, health telling the fault.

Each test runs the real service process with a TCP feed, a real Mosquitto (persistent, autosave
every second) and a persistent-session subscriber (:class:`mdacentre.cli.bench_live.LiveRig`). Lines
flow at a modest rate with a probe (one hazardous-cargo alert) every 50 ms. While the fault lasts,
health must report it; afterwards every alert version in the store must have reached the subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdacentre.cli.bench_live import LiveRig
from tests.authkit import PASSWORD, SignedIn

pytestmark = pytest.mark.slow

FAST_HEALTH = {
    "MDA_HEALTH_INTERVAL_S": "0.3",
    "MDA_HEALTH_STALL_S": "1.0",
    "MDA_HEALTH_MAX_UNDELIVERED_AGE_S": "2.0",
    "MDA_STORE_BUSY_TIMEOUT_S": "1.0",
}


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[LiveRig]:
    r = LiveRig(tmp_path, env=FAST_HEALTH)
    r.broker.start()
    try:
        yield r
    finally:
        r.close()


async def _start(rig: LiveRig) -> None:
    rig.start_service()
    await rig.start_subscriber()
    await rig.wait_ready()
    await rig.connect_feed()


async def _finish(rig: LiveRig, probes: range | None = None) -> None:
    if probes is not None:  # the last probes may still be on their way through the pipeline
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(k not in rig.probe_seen for k in probes):
            await asyncio.sleep(0.2)
    missing = await rig.wait_delivered(60)
    await rig.stop_subscriber()
    # the broker's PUBACK comes before the row is marked delivered (the marker retries a full or
    # locked store with backoff), so give the marks time to land before counting what still waits
    deadline = time.monotonic() + 30
    versions, waiting = rig.outbox_versions()
    while waiting and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        versions, waiting = rig.outbox_versions()
    assert versions, "no alert was raised at all"
    assert not missing, (
        f"{len(missing)} of {len(versions)} alert versions never delivered: {sorted(missing)[:5]}"
    )
    assert waiting == 0
    if probes is not None:  # every line accepted over TCP was processed: each probe raised its alert
        lost = [k for k in probes if k not in rig.probe_seen]
        assert not lost, f"{len(lost)} probes raised no alert: {lost[:10]}"


def test_store_lock_longer_than_the_sqlite_timeout(rig: LiveRig) -> None:
    async def main() -> None:
        await _start(rig)
        k = await rig.send(500, 1.0)
        other = sqlite3.connect(rig.data / "mdacentre.sqlite", isolation_level=None, timeout=30)
        other.execute("BEGIN EXCLUSIVE")  # held 4 s; the service waits at most 1 s per try
        try:
            sender = asyncio.create_task(rig.send(500, 4.0, first_probe=k))
            body = await rig.wait_reason("store_not_writable", timeout=4)
            assert body["checks"]["store"]["ok"] is False and body["checks"]["store"]["detail"]
            k = await sender
        finally:
            other.execute("ROLLBACK")
            other.close()
        k = await rig.send(500, 1.0, first_probe=k)
        await rig.wait_ready(30)  # recovers by itself
        assert rig.proc is not None and rig.proc.poll() is None  # never died, never stuck
        await _finish(rig, range(0, k))

    asyncio.run(main())
    log = rig.log.read_text()
    assert "database is locked" in log and "Traceback" not in log


def test_broker_sigstop_then_sigkill(rig: LiveRig) -> None:
    async def main() -> None:
        await _start(rig)
        k = await rig.send(500, 1.0)
        assert rig.broker.proc is not None
        # a frozen broker: the connection stays up, nothing is acknowledged
        rig.broker.proc.send_signal(signal.SIGSTOP)
        try:
            sender = asyncio.create_task(rig.send(500, 4.0, first_probe=k))
            body = await rig.wait_reason("delivery_backlog", timeout=10)
            assert body["checks"]["delivery"]["value"] > 2.0
            k = await sender
        finally:
            rig.broker.proc.send_signal(signal.SIGCONT)
        k = await rig.send(500, 1.0, first_probe=k)
        await rig.wait_ready(40)
        # a dead broker
        rig.broker.proc.send_signal(signal.SIGKILL)
        rig.broker.proc.wait(10)
        sender = asyncio.create_task(rig.send(500, 3.0, first_probe=k))
        body = await rig.wait_reason("broker_disconnected", timeout=10)
        assert body["checks"]["broker"]["ok"] is False
        k = await sender
        rig.broker.start()
        k = await rig.send(500, 1.0, first_probe=k)
        await rig.wait_ready(40)
        await _finish(rig, range(0, k))

    asyncio.run(main())


def test_service_sigkill_mid_stream(rig: LiveRig) -> None:
    async def main() -> None:
        await _start(rig)
        k = await rig.send(1000, 2.0)
        assert rig.proc is not None
        rig.proc.send_signal(signal.SIGKILL)
        rig.proc.wait(10)
        # the broker tells subscribers the service is gone (last will)
        deadline = time.monotonic() + 45  # keepalive 30 s x 1.5
        while time.monotonic() < deadline and not (
            rig.health_msgs and rig.health_msgs[-1]["state"] == "offline"
        ):
            await asyncio.sleep(0.2)
        assert rig.health_msgs[-1]["state"] == "offline", rig.health_msgs[-3:]
        rig.proc = None
        rig.start_service()
        await rig.wait_ready()
        await rig.connect_feed()
        first_after = k
        k = await rig.send(1000, 1.0, first_probe=k)
        assert rig.health_msgs[-1] == {"state": "online", "ready": True, "reasons": []}
        # lines in flight inside the killed process are gone (the feed resends in real life);
        # every alert version the store admitted is delivered, and everything after the restart
        await _finish(rig, range(first_after, k))

    asyncio.run(main())


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[None]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to fault the data directory's file system")
    path.mkdir(parents=True, exist_ok=True)
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=False
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_read_only_data_directory(rig: LiveRig) -> None:
    """Alerts wait in the store while the broker is away; the data directory turns read-only; the
    restarted service refuses to start with one clear line while that lasts, and delivers every
    queued alert once the directory is writable again."""
    with _tmpfs(rig.data, "64m"):

        async def main() -> None:
            await _start(rig)
            k = await rig.send(500, 1.0)
            rig.broker.stop()  # from here alerts can only wait in the store
            k = await rig.send(500, 1.0, first_probe=k)
            await asyncio.sleep(1.0)
            _versions, waiting = await asyncio.to_thread(rig.outbox_versions)
            assert waiting > 0
            rig.stop_service(signal.SIGKILL)
            assert subprocess.run(["mount", "-o", "remount,ro", str(rig.data)], check=False).returncode == 0
            res = subprocess.run(
                rig.command(), env=rig.env, capture_output=True, text=True, timeout=60, check=False
            )
            assert res.returncode != 0 and "Traceback" not in res.stderr
            errors = [ln for ln in res.stderr.splitlines() if ln.startswith("mdacentre: error:")]
            assert len(errors) == 1 and "read-only" in errors[0], res.stderr
            assert subprocess.run(["mount", "-o", "remount,rw", str(rig.data)], check=False).returncode == 0
            rig.broker.start()
            rig.start_service()
            await rig.wait_ready()
            await _finish(rig)

        asyncio.run(main())


def test_full_disk_mid_stream(rig: LiveRig) -> None:
    """The data directory's file system fills up while the service runs: not ready, input held, and
    every alert delivered once space is freed."""
    with _tmpfs(rig.data, "24m"):

        async def main() -> None:
            await _start(rig)
            k = await rig.send(500, 1.0)
            ballast = rig.data / "ballast"
            # fill the file system to the last block
            with open(ballast, "wb") as fh, contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * (1 << 16))
                    fh.flush()
            try:
                sender = asyncio.create_task(rig.send(500, 3.0, first_probe=k))
                body = await rig.wait_reason("store_not_writable", timeout=10)
                assert "full" in body["checks"]["store"]["detail"]
                k = await sender
            finally:
                ballast.unlink()
            k = await rig.send(500, 1.0, first_probe=k)
            await rig.wait_ready(30)
            assert rig.proc is not None and rig.proc.poll() is None
            await _finish(rig, range(0, k))

        asyncio.run(main())


def test_full_disk_at_start(rig: LiveRig) -> None:
    """Alerts wait in the store (broker away); the service is killed; the file system is full when it
    starts again: one clear line and a non-zero exit; once space is freed every queued alert goes out."""
    with _tmpfs(rig.data, "24m"):

        async def main() -> None:
            await _start(rig)
            k = await rig.send(500, 1.0)
            rig.broker.stop()  # from here alerts can only wait in the store
            await rig.send(500, 1.0, first_probe=k)
            await asyncio.sleep(1.0)
            _versions, waiting = await asyncio.to_thread(rig.outbox_versions)
            assert waiting > 0
            rig.stop_service(signal.SIGKILL)
            ballast = rig.data / "ballast"
            with open(ballast, "wb") as fh, contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * (1 << 16))
                    fh.flush()
            res = subprocess.run(
                rig.command(), env=rig.env, capture_output=True, text=True, timeout=60, check=False
            )
            assert res.returncode != 0 and "Traceback" not in res.stderr
            errors = [ln for ln in res.stderr.splitlines() if ln.startswith("mdacentre: error:")]
            assert len(errors) == 1 and "full file system" in errors[0], res.stderr
            ballast.unlink()
            rig.broker.start()
            rig.start_service()
            await rig.wait_ready()
            await _finish(rig)

        asyncio.run(main())


def _immutable_enforced(directory: Path) -> bool:
    """Whether a file of ``directory`` made immutable refuses writes through a descriptor open before.

    Only file systems whose kernel driver checks the attribute on each write do (ext4, xfs, btrfs;
    not tmpfs, overlayfs on some kernels, many CI volumes).
    """
    probe = directory / ".immutable-probe"
    fd = os.open(probe, os.O_RDWR | os.O_CREAT)
    try:
        if subprocess.run(["chattr", "+i", str(probe)], capture_output=True, check=False).returncode:
            return False
        try:
            os.write(fd, b"x")
            return False
        except PermissionError:
            return True
        finally:
            subprocess.run(["chattr", "-i", str(probe)], check=True)
    finally:
        os.close(fd)
        probe.unlink()


@contextlib.contextmanager
def _immutable_capable_dir(directory: Path, image: Path) -> Iterator[str]:
    """``directory`` on a file system that enforces the immutable attribute; yields how.

    The data directory's own file system when it enforces it (``"chattr"``); else a small ext4
    image loop-mounted on ``directory`` for the test (``"loop-ext4"``), unmounted afterwards (the
    caller stops everything that holds files there first). Needs root; skips without it.
    """
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("needs root and chattr(1) to make open files read-only")
    directory.mkdir(parents=True, exist_ok=True)
    if _immutable_enforced(directory):
        yield "chattr"
        return
    if shutil.which("mkfs.ext4") is None or shutil.which("mount") is None:
        pytest.skip(
            "the data directory's file system has no immutable attribute, and no mkfs.ext4 to make one"
        )
    with open(image, "wb") as fh:
        fh.truncate(64 << 20)  # sparse: only what the store writes takes room
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    mounted = subprocess.run(
        ["mount", "-o", "loop", str(image), str(directory)], capture_output=True, check=False
    )
    if mounted.returncode:
        image.unlink()
        pytest.skip(f"cannot loop-mount an ext4 image here: {mounted.stderr.decode().strip()}")
    try:
        if not _immutable_enforced(directory):
            pytest.skip("not even a loop-mounted ext4 refuses writes to open immutable files")
        yield "loop-ext4"
    finally:
        if subprocess.run(["umount", str(directory)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(directory)], check=True)  # still busy: detach
        image.unlink()


@contextlib.contextmanager
def _immutable(paths: list[Path]) -> Iterator[None]:
    """Make files read-only for everyone, root too, while they are open (the immutable attribute).

    A file system remounted read-only is refused while the service holds its store open for writing
    (the mount is busy), a read-only bind mount made later does not affect descriptors already open,
    and root ignores file modes; the immutable attribute is what makes writes through the service's
    open descriptors fail (on a file system that enforces it: :func:`_immutable_capable_dir`).
    """
    subprocess.run(["chattr", "+i", *map(str, paths)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def test_read_only_store_mid_stream(rig: LiveRig) -> None:
    """The store's files turn read-only while the service runs: not ready (store not writable),
    input held and retried; once writable again every line's alert is delivered, none lost.

    Runs wherever root can mount: on a data directory whose file system has no immutable attribute
    (tmpfs) the store is put on a loop-mounted ext4 image first."""
    db = rig.data / "mdacentre.sqlite"

    async def main() -> None:
        await _start(rig)
        k = await rig.send(500, 1.0)
        # the database, its write-ahead log and the directory (no new file); the shared-memory
        # index stays writable (it is mapped in memory: a refused write there is a crash, not an error)
        with _immutable([db, db.with_name(db.name + "-wal"), rig.data]):
            sender = asyncio.create_task(rig.send(500, 3.0, first_probe=k))
            body = await rig.wait_reason("store_not_writable", timeout=10)
            assert body["checks"]["store"]["ok"] is False and body["checks"]["store"]["detail"]
            k = await sender
            code, live = await rig.ahealth("/healthz")
            assert code == 200, live  # not ready, but alive: no restart would help
        k = await rig.send(500, 1.0, first_probe=k)
        await rig.wait_ready(30)
        assert rig.proc is not None and rig.proc.poll() is None  # never died, never stuck
        await _finish(rig, range(0, k))

    with _immutable_capable_dir(rig.data, rig.workdir / "store.ext4"):
        try:
            asyncio.run(main())
        finally:
            rig.stop_service()  # nothing may hold the store's files when it is unmounted
    assert "Traceback" not in rig.log.read_text()


def test_embedded_broker_killed_is_started_again(tmp_path: Path) -> None:
    import urllib.request

    from mdacentre.sinks.broker import free_port

    feeds = tmp_path / "feeds"
    feeds.mkdir()
    http, mqtt = free_port(), free_port()
    cmd = [
        *LiveRig(tmp_path / "unused").command()[:3],
        "serve",
        "--feeds",
        str(feeds),
        "--data-dir",
        str(tmp_path / "var"),
        "--http-port",
        str(http),
        "--mqtt-port",
        str(mqtt),
    ]
    env = {
        **os.environ,
        **FAST_HEALTH,
        "MDA_MQTT_HOST": "",
        "MDA_MQTT_EMBEDDED_PORT": str(mqtt),
        "MDA_AUTH_BOOTSTRAP_PASSWORD": PASSWORD,
    }
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/readyz", timeout=5) as r:
                return r.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def wait(pred: object, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():  # type: ignore[operator]
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out: {ready()}")

    try:
        wait(lambda: ready()[0] == 200)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        brokers = [
            int(c) for c in children if "mosquitto" in Path(f"/proc/{c}/cmdline").read_bytes().decode()
        ]
        assert len(brokers) == 1
        os.kill(brokers[0], signal.SIGKILL)

        def new_broker() -> bool:  # started from a worker thread: look in every thread's children
            kids = [
                c
                for t in Path(f"/proc/{proc.pid}/task").iterdir()
                for c in (t / "children").read_text().split()
            ]
            return any(
                int(c) != brokers[0] and "mosquitto" in Path(f"/proc/{c}/cmdline").read_text() for c in kids
            )

        wait(new_broker, 30)  # started again by its stage (within about a second)
        wait(lambda: ready()[0] == 200, 60)
        status, body = SignedIn().request(http, "/metrics")
        assert status == 200, body
        metrics = body.decode()
        assert 'mda_stage_failures_total{stage="broker"} 1' in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
