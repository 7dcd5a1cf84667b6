"""The security gate's refusals of a signed-in person, written to the audit trail without flooding it.

A signed-in principal refused by the gate (its role may not call the route, a write without the
session's CSRF token, a WebSocket its role may not open) leaves one ``access_refused`` record: who,
method, path, reason and status. Unsigned requests leave none (anyone could fill the trail with them;
failed sign-ins are audited by the sign-in route). The same refusal, repeated by the same principal,
is written at most once per :data:`WINDOW_S` of wall-clock time; the next record written for it
counts the ones left out in between (``suppressed``).

The append (an ``fsync``) runs in a worker thread, so the event loop does not wait on the disk.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from starlette.concurrency import run_in_threadpool

from mdacentre.api.auth.sessions import Principal
from mdacentre.model.errors import MdaError
from mdacentre.runtime.audit import AuditEvent, AuditLog

log = logging.getLogger(__name__)

WINDOW_S = 60.0  # one record per (principal, method, path, reason) per this many seconds
MAX_PATH = 200  # characters of the path kept in a record (and in the repeat key)
PRUNE_AT = 1000  # keys kept before the expired ones are dropped
WEBSOCKET = "WEBSOCKET"  # the method recorded for a refused WebSocket


class Refusal(StrEnum):
    ROLE = "role"  # the role may not call the route (mdacentre.api.auth.policy)
    CSRF = "csrf"  # a write without the session's CSRF token, or with a wrong one


@dataclass
class _Seen:
    at: float
    suppressed: int = 0


class RefusalAudit:
    """Writes the gate's refusals of signed-in principals to ``audit`` (nothing when it is ``None``)."""

    def __init__(self, audit: AuditLog | None, window_s: float = WINDOW_S) -> None:
        self.audit = audit
        self.window_s = window_s
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str, str, Refusal], _Seen] = {}

    def _due(self, key: tuple[str, str, str, Refusal], now: float) -> int | None:
        """``None`` when this refusal was recorded less than a window ago (it is counted), else the number
        of repeats left out since its last record."""
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and 0.0 <= now - seen.at < self.window_s:
                seen.suppressed += 1
                return None
            if len(self._seen) >= PRUNE_AT:
                for k in [k for k, s in self._seen.items() if not 0.0 <= now - s.at < self.window_s]:
                    del self._seen[k]
            self._seen[key] = _Seen(now)
            return seen.suppressed if seen is not None else 0

    async def record(
        self, principal: Principal, method: str, path: str, reason: Refusal, status: int
    ) -> None:
        """Audit one refusal (or count it as a repeat); a trail that cannot be written is logged, and the
        refusal stands."""
        if self.audit is None:
            return
        path = path[:MAX_PATH]
        suppressed = self._due((principal.label, method, path, reason), time.time())
        if suppressed is None:
            return
        details: dict[str, object] = {
            "method": method,
            "path": path,
            "reason": reason.value,
            "status": status,
            "role": principal.role.value,
        }
        if suppressed:
            details["suppressed"] = suppressed
        try:
            await run_in_threadpool(self.audit.append, AuditEvent.ACCESS_REFUSED, principal.label, details)
        except MdaError as exc:
            log.error(
                "a refused %s %s of %s is not in the audit trail: %s", method, path, principal.label, exc
            )
