"""Tamper-evident audit trail: an append-only file of JSON lines, each carrying the hash of the one before.

Every record is ``{"seq", "time", "event", "actor", "details", "prev", "hash"}`` where ``hash`` is the
SHA-256 of the canonical JSON of the record without ``hash`` (keys sorted), and ``prev`` is the hash of
the previous record (64 zeros for the first). Editing a record breaks its own hash, removing or
reordering records breaks the chain, and cutting records off the end is caught by the head file
(``<log>.head``: the sequence number and hash of the last record, rewritten on every append).
:func:`verify` reports every break. The head file lives on the same disk as the log, so a person with
write access to both can rewrite history from the start: ship the head hash elsewhere (see
``docs/security.md``) when that matters.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from mdacentre.model.errors import MdaError

GENESIS = "0" * 64
MAX_DETAIL = 4000  # characters of JSON per record's details


class AuditError(MdaError):
    """The audit trail cannot be written or read."""


class AuditEvent(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    ACKNOWLEDGE = "acknowledge"
    RETRACT = "retract"
    ACK_REFUSED = "ack_refused"
    ACCESS_REFUSED = "access_refused"  # the security gate refused a signed-in person (role, CSRF)
    EXPORT = "export"
    REPORT = "report"
    USER_ADDED = "user_added"
    USER_PASSWORD = "user_password"
    USER_DISABLED = "user_disabled"
    CONFIG_CHANGED = "config_changed"
    AUDIT_READ = "audit_read"
    HISTORY_QUERY = "history_query"  # an analyst's SQL over the archive (POST /api/history/sql)
    REPLAY_CONTROL = "replay_control"
    NOTE = "note"
    NOTE_REFUSED = "note_refused"
    HANDOVER = "handover"
    HANDOVER_REFUSED = "handover_refused"


def _canonical(rec: Mapping[str, Any]) -> bytes:
    return orjson.dumps({k: v for k, v in rec.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS)


def record_hash(rec: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(rec)).hexdigest()


@dataclass
class VerifyResult:
    records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    """Appends chained records to ``path`` (thread-safe; one writer process)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seq, self._prev = self._tail()

    def _tail(self) -> tuple[int, str]:
        last: dict[str, Any] | None = None
        for rec in _records(self.path):
            last = rec
        if last is None:
            return 0, GENESIS
        return int(last.get("seq", 0)), str(last.get("hash", GENESIS))

    def append(
        self,
        event: AuditEvent,
        actor: str,
        details: Mapping[str, Any] | None = None,
        *,
        at: float | None = None,
    ) -> dict[str, Any]:
        """Write one record and return it. ``at`` is wall-clock time (audit records are about people)."""
        det = dict(details or {})
        if len(orjson.dumps(det)) > MAX_DETAIL:
            det = {"truncated": orjson.dumps(det).decode()[:MAX_DETAIL]}
        with self._lock:
            rec: dict[str, Any] = {
                "seq": self._seq + 1,
                "time": round(time.time() if at is None else at, 3),
                "event": AuditEvent(event).value,
                "actor": str(actor)[:120],
                "details": det,
                "prev": self._prev,
            }
            rec["hash"] = record_hash(rec)
            line = orjson.dumps(rec) + b"\n"
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                _write_head(self.head_path, rec["seq"], rec["hash"])
            except OSError as exc:
                raise AuditError(f"cannot append to the audit trail {self.path}: {exc.strerror}") from None
            self._seq, self._prev = rec["seq"], rec["hash"]
        return rec

    def tail(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` records, newest first."""
        with self._lock:
            recs = list(_records(self.path))
        return recs[-limit:][::-1] if limit > 0 else []


def _write_head(path: Path, seq: int, digest: str) -> None:
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(orjson.dumps({"seq": seq, "hash": digest}) + b"\n")
    os.replace(tmp, path)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield {"_unreadable": raw[:200].decode("utf-8", "replace")}
                continue
            yield rec if isinstance(rec, dict) else {"_unreadable": str(rec)[:200]}


def verify(path: Path) -> VerifyResult:
    """Check every record's hash, the chain and the head file; every break is one problem line."""
    path = Path(path)
    res = VerifyResult()
    prev, seq = GENESIS, 0
    for n, rec in enumerate(_records(path), start=1):
        res.records += 1
        if "_unreadable" in rec:
            res.problems.append(f"line {n}: not a JSON record (edited?)")
            continue
        if rec.get("hash") != record_hash(rec):
            res.problems.append(f"line {n} (seq {rec.get('seq')}): hash does not match its content (edited)")
        if rec.get("prev") != prev:
            res.problems.append(
                f"line {n} (seq {rec.get('seq')}): does not follow the record before (removed?)"
            )
        if rec.get("seq") != seq + 1:
            res.problems.append(
                f"line {n}: sequence {rec.get('seq')} after {seq} (records removed or reordered)"
            )
        prev = str(rec.get("hash"))
        seq = int(rec["seq"]) if isinstance(rec.get("seq"), int) else seq + 1
    head_path = path.with_name(path.name + ".head")
    if head_path.is_file():
        try:
            head = orjson.loads(head_path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            res.problems.append(f"{head_path.name}: unreadable")
        else:
            if head.get("seq") != seq or head.get("hash") != prev:
                res.problems.append(
                    f"the log ends at seq {seq} but {head_path.name} records seq {head.get('seq')}: "
                    "records were cut off the end or the log was rewritten"
                )
    elif res.records:
        res.problems.append(f"{head_path.name} is missing")
    return res
