"""Hand-overs to an agency as durable MQTT messages on ``{prefix}/handover/{agency}``.

A watch officer who hands an alert over to an agency (``POST /api/alerts/{id}/handover``) records a
row of ``alert_notes`` (:mod:`mdacentre.alerting.notes`); :class:`HandoverOutlet` adds, in the same
transaction, one outbox message to that agency's hand-over topic. The MQTT publisher drains it like
any alert message (QoS 1, marked delivered only after the broker's PUBACK), so a hand-over accepted
while the broker is down is delivered once it is back. The broker's ACL lets only that agency read its
hand-over topic (:mod:`mdacentre.alerting.broker_config`).

The payload (``alerting/handover.schema.json``) names the hand-over (``seq``, unique and increasing:
a subscriber drops a redelivered one by it), the alert (id, version, status, category, level, state),
the track, who handed it over and when (UTC), the note and the target agency.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import orjson

from mdacentre.alerting.notes import NoteError
from mdacentre.alerting.store import OutItem

HANDOVER_TYPE = "handover"
TRACK_KEYS = ("kind", "id", "name", "lat", "lon", "sog", "cog", "flag")


def handover_topic(prefix: str, agency: str) -> str:
    return f"{prefix}/handover/{agency}"


def handover_payload(alert: dict[str, Any], note: dict[str, Any]) -> dict[str, Any]:
    """The message of one hand-over: the note row (``seq``, ``by``, ``at``, ``text``, ``agency``) and the
    stored alert it is about."""
    track = alert.get("track") or {}
    return {
        "type": HANDOVER_TYPE,
        "seq": note["seq"],
        "agency": note["agency"],
        "by": note["by"],
        "at": note["at"],
        "note": note["text"],
        "alert": {
            "id": alert.get("id"),
            "version": alert.get("version"),
            "status": alert.get("status"),
            "category": alert.get("category"),
            "level": alert.get("level"),
            "state": alert.get("state"),
        },
        "level": alert.get("level"),
        "track": {k: track[k] for k in TRACK_KEYS if k in track},
    }


class HandoverOutlet:
    """Where hand-overs go: the agencies that exist (the routing rules') and their MQTT topics.

    ``notify`` wakes the publisher once a hand-over's message is committed.
    """

    def __init__(self, agencies: Collection[str], prefix: str, qos: int, notify: Callable[[], None]) -> None:
        self.agencies = frozenset(agencies)
        self.prefix = prefix
        self.qos = qos
        self.notify = notify

    def check(self, agency: str) -> None:
        """Raise :class:`NoteError` unless ``agency`` is an agency of the routing rules."""
        if not self.agencies:
            raise NoteError("there are no routing rules (alerting/routing.toml): no agency to hand over to")
        if agency not in self.agencies:
            raise NoteError(f"unknown agency {agency!r}; known: {sorted(self.agencies)}")

    def topic(self, agency: str) -> str:
        return handover_topic(self.prefix, agency)

    def messages(self, alert: dict[str, Any]) -> Callable[[dict[str, Any]], list[OutItem]]:
        """The outbox messages of a hand-over of ``alert``, given its recorded note row."""

        def build(note: dict[str, Any]) -> list[OutItem]:
            payload = orjson.dumps(handover_payload(alert, note))
            return [(self.topic(note["agency"]), payload, self.qos, False)]

        return build
