"""The words the map page shares with the server, served at ``GET /api/vocabulary``.

The page keeps no copy of them: levels, alert statuses, track kinds, alert categories and the
track-key format all come from here, built from the enums that define them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mdacentre.alerting.alerts import AlertStatus
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Level
from mdacentre.model.shiptypes import ship_type_names
from mdacentre.model.trackid import HEX_KINDS, KEY_SEPARATOR, KEY_TEMPLATE

VOCABULARY_VERSION = 1

# How a track kind is named for a person reading the map.
KIND_NAMES: dict[TrackKind, str] = {
    TrackKind.VESSEL: "Vessel",
    TrackKind.AIRCRAFT: "Aircraft",
    TrackKind.SAR_AIRCRAFT: "SAR aircraft",
    TrackKind.BASE_STATION: "AIS base station",
    TrackKind.AID_TO_NAVIGATION: "Aid to navigation",
}
# Statuses of an alert that still asks for attention (the others end or set it aside).
ACTIVE_STATUSES = (AlertStatus.OPEN, AlertStatus.UPDATED)
# Order of the kinds in the panel's counts.
KIND_ORDER = (
    TrackKind.VESSEL,
    TrackKind.AIRCRAFT,
    TrackKind.SAR_AIRCRAFT,
    TrackKind.BASE_STATION,
    TrackKind.AID_TO_NAVIGATION,
)


def vocabulary(
    categories: Iterable[str] = (),
    features: Iterable[str] = (),
    agencies: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The vocabulary document; ``categories`` are the alert categories the service knows (routing),
    ``features`` the optional parts this server offers (``replay_clock``, ``past_picture``, ``notes``),
    ``agencies`` the routing's agencies (id -> full name), the only ones a hand-over may name."""
    return {
        "version": VOCABULARY_VERSION,
        "levels": [lv.label for lv in sorted(Level)],
        "alert_statuses": [st.value for st in AlertStatus],
        "active_statuses": [st.value for st in ACTIVE_STATUSES],
        "track_kinds": [{"id": k.label, "name": KIND_NAMES[k]} for k in KIND_ORDER],
        "categories": sorted(set(categories)),
        "track_key": {
            "template": KEY_TEMPLATE,
            "separator": KEY_SEPARATOR,
            "hex_id_kinds": sorted(k.label for k in HEX_KINDS),
        },
        "ship_types": ship_type_names(),
        "features": sorted(set(features)),
        "agencies": [{"id": k, "name": v} for k, v in sorted((agencies or {}).items())],
    }
