"""What a signed-in person may see: the same grants that build the broker ACL decide the map and the API.

A watch officer and an analyst see the whole picture. An agency liaison sees the alerts its agency is
routed (:meth:`mdacentre.alerting.routing.Router.route`, the rule the MQTT ACL is generated from) and
the tracks of those alerts, or every track when its agency may read the track topics (``tracks =
true``). An administrator sees no picture. Without routing rules a liaison sees nothing (fail closed).

:class:`ScopedMapState` applies this inside the map state's reads, for the principal of the current
request (a context variable the security middleware sets), so every route that reads the state, also
ones added later, is scoped without knowing about it; WebSocket hub messages are filtered per client.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Hashable
from typing import Any

from mdacentre.alerting.routing import Router
from mdacentre.api.auth.sessions import Principal
from mdacentre.api.auth.users import Role
from mdacentre.api.mapstate import MapState
from mdacentre.model.errors import MdaError

current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "mda_principal", default=None
)

FULL_PICTURE = frozenset({Role.WATCH, Role.ANALYST})


def track_key_of_alert(alert: dict[str, Any]) -> str | None:
    t = alert.get("track")
    if not isinstance(t, dict) or not t.get("kind") or t.get("id") is None:
        return None
    return f"{t['kind']}:{t['id']}"


class Scope:
    """The view of one principal."""

    def __init__(self, principal: Principal | None, router: Router | None) -> None:
        self.principal = principal
        self.router = router

    @property
    def full(self) -> bool:
        return self.principal is not None and self.principal.role in FULL_PICTURE

    @property
    def liaison(self) -> bool:
        return self.principal is not None and self.principal.role == Role.LIAISON

    def all_tracks(self) -> bool:
        if self.full:
            return True
        if not self.liaison or self.router is None or self.principal is None:
            return False
        agency = self.router.agencies.get(self.principal.agency or "")
        return bool(agency and agency.tracks)

    def sees_alert(self, alert: dict[str, Any]) -> bool:
        if self.full:
            return True
        if not self.liaison or self.router is None or self.principal is None:
            return False
        try:
            return (self.principal.agency or "") in self.router.route(alert)
        except MdaError:
            return False

    def alerts(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return items if self.full else [a for a in items if self.sees_alert(a)]

    def tracks(self, items: list[dict[str, Any]], allowed: set[str]) -> list[dict[str, Any]]:
        if self.all_tracks():
            return items
        return [t for t in items if t.get("key") in allowed]


class ScopedQueue:
    """One WebSocket client's view of the hub: messages it may not see are dropped or trimmed."""

    def __init__(self, inner: asyncio.Queue[dict[str, Any]], scope: Scope, allowed: set[str]) -> None:
        self.inner = inner
        self.scope = scope
        self.allowed = allowed

    async def get(self) -> dict[str, Any]:
        while True:
            msg = await self.inner.get()
            out = self.filter(msg)
            if out is not None:
                return out

    def filter(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        if self.scope.full:
            return msg
        kind = msg.get("type")
        if kind == "alert":
            alert = msg.get("alert") or {}
            if not self.scope.sees_alert(alert):
                return None
            key = track_key_of_alert(alert)
            if key:
                self.allowed.add(key)
            return msg
        if kind == "tracks":
            if self.scope.all_tracks():
                return msg
            tracks = [t for t in msg.get("tracks", []) if t.get("key") in self.allowed]
            removed = [k for k in msg.get("removed", []) if k in self.allowed]
            return {**msg, "tracks": tracks, "removed": removed} if tracks or removed else None
        if kind == "feeds" and self.scope.principal is None:
            return None
        if kind == "note":  # notes and hand-overs are the watch floor's (GET /api/notes is not theirs)
            return None
        return msg  # heartbeat, resync, feeds


def shared_scope(q: Any) -> Hashable | None:
    """The key of the clients that receive the same ``tracks`` hub messages as this subscriber queue, so
    may share their encoding (:class:`mdacentre.api.mapwire.ScopeFrames`); ``None``: its own messages.

    The full picture is one scope; a liaison whose agency reads every track is its agency's scope; a
    liaison limited to the tracks of its alerts gets messages trimmed to its own set, so shares none.
    """
    if not isinstance(q, ScopedQueue):
        return ("unscoped",)
    scope = q.scope
    if scope.principal is None:
        return None
    if scope.full:
        return ("full",)
    if scope.all_tracks():
        return ("agency", scope.principal.agency or "")
    return None


class ScopedMapState:
    """A map state whose reads are limited to the current request's principal."""

    def __init__(self, inner: MapState, router: Router | None) -> None:
        self.inner = inner
        self.router = router
        self._queues: dict[int, ScopedQueue] = {}

    def scope(self) -> Scope:
        return Scope(current_principal.get(), self.router)

    def _allowed(self, scope: Scope) -> set[str]:
        if scope.all_tracks():
            return set()
        return {k for a in scope.alerts(self.inner.alerts(100000)) if (k := track_key_of_alert(a))}

    def tracks(self) -> list[dict[str, Any]]:
        scope = self.scope()
        if scope.principal is None:
            return []
        return scope.tracks(self.inner.tracks(), self._allowed(scope))

    def alerts(self, limit: int = 200) -> list[dict[str, Any]]:
        scope = self.scope()
        if scope.principal is None:
            return []
        if scope.full:
            return self.inner.alerts(limit)
        return scope.alerts(self.inner.alerts(100000))[:limit]

    def zones_geojson(self) -> dict[str, Any]:
        return self.inner.zones_geojson()

    def feeds(self) -> list[dict[str, Any]]:
        return self.inner.feeds() if self.scope().principal is not None else []

    def metrics_text(self) -> str:
        return self.inner.metrics_text()

    def subscribe(self) -> Any:
        scope = self.scope()
        inner = self.inner.subscribe()
        q = ScopedQueue(inner, scope, self._allowed(scope))
        self._queues[id(q)] = q
        return q

    def unsubscribe(self, q: Any) -> None:
        sq = self._queues.pop(id(q), None)
        self.inner.unsubscribe(sq.inner if sq is not None else q)

    def __getattr__(self, name: str) -> Any:  # writes (publish, add_alert, ...) go to the real state
        return getattr(self.inner, name)
