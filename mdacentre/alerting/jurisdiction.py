"""What of the archive an agency liaison may see: its jurisdiction's area and the alerts routed to it.

The rule, for history (trails, events, archived alert versions), with the agency of the session and the
routing rules of ``alerting/routing.toml``:

* **alerts**: an archived alert version is the agency's when :meth:`Router.route_to` sends it there
  (the same grants that build the MQTT ACL and scope the live map);
* **positions and events**: a report is the agency's when it lies inside the agency's area, the union
  of every zone of the library owned by one of its states (territorial seas, contiguous zones,
  EEZ, ports and airports, watch areas for ``XX``), or when it falls in the time span of an alert
  of that track routed to the agency (first version's start to last version, with
  :data:`ALERT_MARGIN_S` either side): the context needed to act on the alert, and no more;
* an agency that may read every live track (``tracks = true``) sees every track's history, as on the map.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from mdacentre.alerting.routing import Router
from mdacentre.core.zones import Zone
from mdacentre.model.errors import ConfigError
from mdacentre.model.findings import Level

ALERT_MARGIN_S = 1800.0


@dataclass(frozen=True)
class Jurisdiction:
    agency: str
    states: tuple[str, ...]
    area: BaseGeometry | None  # None: the agency's states own no zone of the library
    router: Router
    everywhere: bool = False  # the agency reads every track (tracks = true)

    def inside(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which points lie in the agency's area (NaN positions never do)."""
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        if self.everywhere:
            return np.ones(x.shape, dtype=bool)
        if self.area is None or x.size == 0:
            return np.zeros(x.shape, dtype=bool)
        ok = np.isfinite(x) & np.isfinite(y)
        out = np.zeros(x.shape, dtype=bool)
        out[ok] = shapely.intersects_xy(self.area, x[ok], y[ok])
        return out

    def routed(self, state: str, category: str, level: str) -> bool:
        """Whether an alert of this state, category and level goes to the agency."""
        try:
            lv = Level[str(level).upper()]
        except KeyError:
            return False
        return self.agency in self.router.route_to(str(state), str(category), lv)


def jurisdiction(router: Router, zones: Iterable[Zone], agency_id: str) -> Jurisdiction:
    """The agency's jurisdiction; :class:`ConfigError` for an agency the routing rules do not know."""
    agency = router.agency(agency_id)
    owned = [z.geometry for z in zones if z.state in agency.states]
    area = shapely.union_all(owned) if owned else None
    if area is not None:
        shapely.prepare(area)
    return Jurisdiction(agency.id, agency.states, area, router, everywhere=agency.tracks)


class Jurisdictions:
    """Each agency's jurisdiction, built once (a union of zone polygons) and kept."""

    def __init__(self, router: Router | None, zones: Iterable[Zone]) -> None:
        self.router = router
        self.zones = tuple(zones)
        self._lock = threading.Lock()
        self._cache: dict[str, Jurisdiction] = {}

    def get(self, agency_id: str | None) -> Jurisdiction | None:
        """The agency's jurisdiction, or None (no routing rules, no or unknown agency: sees nothing)."""
        if self.router is None or not agency_id:
            return None
        with self._lock:
            if agency_id not in self._cache:
                try:
                    self._cache[agency_id] = jurisdiction(self.router, self.zones, agency_id)
                except ConfigError:
                    return None
            return self._cache[agency_id]
