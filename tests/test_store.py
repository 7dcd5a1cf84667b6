"""One durable store: alert state and outbox in one SQLite database, one transaction per step."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from conftest import position, static

from mdacentre.alerting.alerts import Alert
from mdacentre.alerting.store import STORE_FILE, AlertStore, StoreDb, is_transient
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.sources import Chunk
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import Core, alert_messages
from mdacentre.sinks.outbox import Outbox

T0 = 1_768_435_200.0


def _alerts(tmp: Path, mmsi: int = 538007001) -> tuple[Core, list[Alert]]:
    core = Core(
        replace(Settings(), data_dir=tmp), [FeedSpec("f", FeedKind.AIS, Transport.FILE, path="x")], Metrics()
    )
    lines = static(mmsi, "STORE TEST", 81, T0 - 10) + position(mmsi, 15.05, -61.0, T0)
    res = core.step(core.decode([Chunk(0, ("\n".join(lines) + "\n").encode(), T0)]))
    assert res.alerts
    return core, res.alerts


def _count(db: Path, table: str) -> int:
    with contextlib.closing(sqlite3.connect(db)) as c:
        return int(c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_alert_and_its_messages_are_one_transaction(tmp_path: Path) -> None:
    core, alerts = _alerts(tmp_path)
    db = StoreDb(tmp_path / STORE_FILE)
    store, outbox = AlertStore(db), Outbox(db)

    def broken(published: list[Alert]) -> list[tuple[str, bytes, int, bool]]:
        raise RuntimeError("crash between the alert and its message")

    with pytest.raises(RuntimeError):
        store.admit(alerts, core.pipeline.alerts, broken)
    # neither half was written: the alert is not admitted, so it is not lost either
    assert _count(db.path, "alerts") == 0 and _count(db.path, "outbox") == 0
    published = store.admit(alerts, core.pipeline.alerts, lambda p: alert_messages("mdacentre/v1", p, 1))
    assert published and _count(db.path, "alerts") == len(published)
    pending = outbox.pending()
    assert {orjson.loads(m.payload)["id"] for m in pending} == {a.id for a in published}
    assert outbox.stats()["queued"] == len(pending)


def test_a_held_lock_is_transient_and_the_step_can_be_retried(tmp_path: Path) -> None:
    core, alerts = _alerts(tmp_path)
    db = StoreDb(tmp_path / STORE_FILE, busy_timeout_s=0.2)
    store = AlertStore(db)
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError) as info:
            store.admit(alerts, core.pipeline.alerts, lambda p: alert_messages("p", p, 1))
        assert is_transient(info.value)
        assert db.probe() != ""  # the health probe sees it too
        with db.immediate() as free:
            assert free  # our own lock is free; SQLite's is not, and fails at once inside
            with pytest.raises(sqlite3.OperationalError):
                store.admit(alerts, core.pipeline.alerts)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert db.probe() == ""
    assert store.admit(alerts, core.pipeline.alerts, lambda p: alert_messages("p", p, 1))
    assert _count(db.path, "outbox") >= 1


def test_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    db = StoreDb(tmp_path / STORE_FILE, busy_timeout_s=5)
    outbox = Outbox(db)
    outbox.put_many([("t/a", b"1", 1, False)])
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        t = time.monotonic()
        assert len(outbox.pending()) == 1 and outbox.stats()["queued"] == 1
        assert time.monotonic() - t < 2.0  # far below the 5 s busy timeout: no wait at all
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_prune_removes_only_old_delivered_rows(tmp_path: Path) -> None:
    outbox = Outbox(StoreDb(tmp_path / STORE_FILE))
    outbox.put_many([(f"t/{i}", b"x", 1, False) for i in range(5)])
    seqs = [m.seq for m in outbox.pending()]
    outbox.mark_delivered(seqs[:3])
    with outbox.db.transaction() as c:
        c.execute("UPDATE outbox SET delivered = delivered - 100 WHERE seq IN (?, ?)", (seqs[0], seqs[1]))
    assert outbox.prune(older_than_s=50) == 2
    left = _count(outbox.path, "outbox")
    assert left == 3 and outbox.stats()["queued"] == 2  # the undelivered two are never pruned
    assert outbox.db.size_bytes() > 0


def test_backup_while_writing(tmp_path: Path) -> None:
    db = StoreDb(tmp_path / STORE_FILE)
    outbox = Outbox(db)
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            outbox.put_many([(f"t/{i}", b"x" * 100, 1, False)])
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(0.2)
        db.backup(tmp_path / "backup.sqlite")
    finally:
        stop.set()
        t.join()
    with contextlib.closing(sqlite3.connect(tmp_path / "backup.sqlite")) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] > 0


def test_two_file_layout_is_migrated_once(tmp_path: Path) -> None:
    core, alerts = _alerts(tmp_path)
    old_store = AlertStore(tmp_path / "alerts.sqlite")
    old_store.admit(alerts, core.pipeline.alerts)
    old_store.close()
    old_outbox = Outbox(tmp_path / "outbox.sqlite")
    old_outbox.put_many([("t/waiting", b"w", 1, False), ("t/sent", b"s", 1, False)])
    old_outbox.mark_delivered([old_outbox.pending()[1].seq])
    old_outbox.close()
    db = StoreDb(tmp_path / STORE_FILE)
    moved = db.migrate_legacy(tmp_path)
    assert moved["alerts.sqlite"] >= 1 and moved["outbox.sqlite"] >= 1
    assert [m.topic for m in Outbox(db).pending() if m.topic.startswith("t/")] == ["t/waiting"]
    assert AlertStore(db).get(alerts[0].id) is not None
    assert not (tmp_path / "alerts.sqlite").exists() and (tmp_path / "alerts.sqlite.migrated").exists()
    assert db.migrate_legacy(tmp_path) == {}


def test_backup_command_copies_a_live_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mdacentre.cli.main import main

    outbox = Outbox(StoreDb(tmp_path / STORE_FILE))
    outbox.put_many([(f"t/{i}", b"x", 1, False) for i in range(10)])  # the service keeps it open
    assert main(["backup", str(tmp_path / "copy.sqlite"), "--data-dir", str(tmp_path)]) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["integrity"] == "ok" and report["outbox"] == 10
    assert (
        main(["backup", str(tmp_path / "copy.sqlite"), "--data-dir", str(tmp_path)]) == 2
    )  # never overwrites
