"""Acknowledgements and retractions from people: REST for the watch floor, MQTT for the agencies.

The REST endpoint is :func:`mdacentre.api.auth.routes.ack_routes`: who acts is the signed-in person.

MQTT command topic: ``{prefix}/ack/{agency}`` with JSON ``{"id": ..., "by": ..., "note": ..., "action":
"acknowledge"}``; the broker ACL lets each agency write only its own topic, so the topic names who acted.
Retraction (an alert raised in error) is for the watch floor only (REST, ``"action": "retract"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from mdacentre.model.errors import MdaError

ALERT_ID = re.compile(r"^[0-9a-f]{20}$")
AGENCY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class AckAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RETRACT = "retract"


class CommandError(MdaError):
    """A malformed acknowledgement command."""


@dataclass(frozen=True)
class AckCommand:
    alert_id: str
    by: str
    note: str
    action: AckAction


def parse_command(doc: Any, who: str) -> AckCommand:
    if not isinstance(doc, dict):
        raise CommandError("the command must be a JSON object {id, by, note, action}")
    alert_id = str(doc.get("id", ""))
    if not ALERT_ID.match(alert_id):
        raise CommandError("'id' must be an alert id (20 lower-case hex characters)")
    try:
        action = AckAction(str(doc.get("action", "acknowledge")))
    except ValueError:
        raise CommandError(f"'action' must be one of {[a.value for a in AckAction]}") from None
    by = str(doc.get("by", "")).strip()
    if not by:
        raise CommandError("'by' must name the person acknowledging")
    return AckCommand(alert_id, f"{who}/{by}"[:120], str(doc.get("note", ""))[:2000], action)


def parse_mqtt_command(topic: str, payload: bytes, prefix: str) -> AckCommand:
    parts = topic.split("/")
    base = prefix.split("/")
    if parts[: len(base)] != base or len(parts) != len(base) + 2 or parts[len(base)] != "ack":
        raise CommandError(f"not an acknowledgement topic: {topic}")
    agency = parts[-1]
    if not AGENCY.match(agency):
        raise CommandError(f"bad agency id in topic {topic}")
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise CommandError("payload is not JSON") from None
    cmd = parse_command(doc, agency)
    if cmd.action == AckAction.RETRACT:
        raise CommandError("retraction is reserved to the watch floor (REST API)")
    return cmd
