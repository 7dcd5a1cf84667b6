"""Server parts the watch-floor browser tests add to the map app: acknowledgements and track history.

``ack_apply`` records an acknowledgement on a :class:`MemoryMapState` the way the alert
store does (new version, status, the acknowledgement and the history of every one) and pushes it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from mdacentre.alerting.acks import AckAction, AckCommand
from mdacentre.alerting.alerts import AlertStatus
from mdacentre.api.auth.config import Security
from mdacentre.api.auth.routes import ack_routes
from mdacentre.api.history import history_router
from mdacentre.api.web import MemoryMapState
from mdacentre.model.batch import TrackKind
from mdacentre.model.errors import MdaError


def ack_apply(state: MemoryMapState) -> Any:
    def apply(cmd: AckCommand) -> dict[str, Any]:
        current = {a["id"]: a for a in state.alerts(10_000)}.get(cmd.alert_id)
        if current is None:
            raise MdaError(f"no alert with id {cmd.alert_id!r}")
        if current["status"] == AlertStatus.RETRACTED.value:
            raise MdaError(f"alert {cmd.alert_id} was retracted")
        d = dict(current)
        retract = cmd.action == AckAction.RETRACT
        if retract:
            d["status"] = AlertStatus.RETRACTED.value
        elif d["status"] not in (AlertStatus.CLOSED.value, AlertStatus.EXPIRED.value):
            d["status"] = AlertStatus.ACKNOWLEDGED.value
        at = datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        d["version"] = int(d.get("version", 1)) + 1
        d["ack"] = {"by": cmd.by, "note": cmd.note, "at": at}
        entry = {
            "version": d["version"],
            "action": cmd.action.value,
            "by": cmd.by,
            "note": cmd.note,
            "at": at,
        }
        d["acks"] = [*d.get("acks", []), entry]
        state.add_alert(d)
        return d

    return apply


# track key -> [(epoch s, lat, lon), ...]: what the test server answers for a track's history
HISTORY: dict[str, list[tuple[float, float, float]]] = {}


def _int_key(text: str) -> int:
    kind, ident = text.split(":", 1)
    k = TrackKind[kind.upper()]
    return (int(k) << 32) | int(ident, 16 if k == TrackKind.AIRCRAFT else 10)


def history_lookup(key: int, t0: float | None, t1: float | None, within: Any = None) -> dict[str, Any]:
    """The archive lookup the service's history route calls, over ``HISTORY`` (timed GeoJSON points);
    the test's users see the whole picture (``within`` is None)."""
    pts = next((v for k, v in HISTORY.items() if _int_key(k) == key), [])
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"t": datetime.fromtimestamp(t, UTC).isoformat()},
        }
        for t, lat, lon in pts
    ]
    return {"type": "FeatureCollection", "features": feats}


def floor_routers(state: MemoryMapState, sec: Security) -> list[APIRouter]:
    def lookup(alert_id: str) -> dict[str, Any] | None:
        return {a["id"]: a for a in state.alerts(10_000)}.get(alert_id)

    return [ack_routes(ack_apply(state), sec, lookup), history_router(history_lookup)]
