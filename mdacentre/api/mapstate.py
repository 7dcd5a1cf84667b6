"""What the map server reads: one protocol for the plain state and the per-agency scoped view."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol


class MapState(Protocol):
    """What the map server reads. The service implements it over its track table and alert log."""

    def tracks(self) -> list[dict[str, Any]]: ...

    def alerts(self, limit: int = 200) -> list[dict[str, Any]]: ...

    def zones_geojson(self) -> dict[str, Any]: ...

    def feeds(self) -> list[dict[str, Any]]: ...

    def metrics_text(self) -> str: ...

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]: ...

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None: ...
