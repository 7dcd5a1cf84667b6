"""Reproducible builder of the Caribbean zone library shipped in ``geofences/``.

Everything is derived from the public-domain files in ``shared/data/geo`` (Natural Earth
1:10m, NOAA US Maritime Limits and Boundaries, NGA World Port Index, airportsdata) by
:func:`build_library`. The same input always gives byte-identical output files.

Method for the maritime zones (all labelled ``approximate``):

1. Land of every state comes from Natural Earth 10m Admin-0 countries. France and the
   Netherlands are split into their Caribbean parts by bounding box; the Guantanamo lease
   counts as Cuban land; US mainland, Brazil and El Salvador are *neighbours only* (they
   shape the equidistance lines but get no zones).
2. Work plane: a Lambert conformal conic projection of the region (:data:`LCC`). Buffers are
   computed per 4-degree tile of land in a local azimuthal equidistant projection centred on
   the tile, so 12/24/200 nm are true distances (error well under 0.5 %), never degrees.
3. "Atlantic-side water" is the connected part of (region box - all land) that holds a seed
   point in the Caribbean Sea: Pacific coasts and lakes drop out on their own.
4. Coastline points every :data:`COAST_STEP_M` along the coast of every state (only points
   on the Atlantic side) are split by a Voronoi diagram; cells dissolved per state give the
   equidistance partition, used to split territorial seas, contiguous zones and EEZs.
5. Puerto Rico / US Virgin Islands use NOAA's lines: treaty and unilateral boundaries plus
   the 200 nm limit are polygonized into the US Caribbean EEZ, the 12 and 24 nm limit lines
   into the territorial sea and contiguous zone; that area is removed from every neighbour
   and split between PR and VI by equidistance.
6. Territorial sea = 0-12 nm, contiguous zone = 12-24 nm, EEZ = 12-200 nm (the legal
   definitions: the contiguous zone lies inside the EEZ, the territorial sea does not).

Output geometry is simplified to :data:`SIMPLIFY_M` and rounded to 1e-5 degrees.
"""

from __future__ import annotations

from pathlib import Path

from mdacentre.cli.zonebuild.features import airport_features, gate_features, port_features, watch_features
from mdacentre.cli.zonebuild.maritime import maritime_features, maritime_zones
from mdacentre.cli.zonebuild.sources import country_geoms, state_land
from mdacentre.cli.zonebuild.spec import (
    DECIMALS,
    NE_COUNTRIES,
    NOAA_LINES,
    OUTPUT_FILES,
    STATES,
    BuildOptions,
    Feature,
    StateSpec,
)
from mdacentre.cli.zonebuild.writing import write_collection
from mdacentre.core.zones import ZoneKind
from mdacentre.model.errors import ZoneError

__all__ = ["DECIMALS", "NE_COUNTRIES", "NOAA_LINES", "OUTPUT_FILES", "BuildOptions", "build_library"]


def _select(states: frozenset[str] | None) -> list[StateSpec]:
    if states is None:
        return list(STATES)
    known = {s.code for s in STATES}
    unknown = sorted(set(states) - known)
    if unknown:
        raise ZoneError(f"unknown state codes {unknown}; choose from {sorted(known)}")
    return [s for s in STATES if s.code in states]


def build_library(geo_dir: Path, out_dir: Path, options: BuildOptions | None = None) -> dict[str, int]:
    """Build every zone file from ``geo_dir`` into ``out_dir``; returns features written per file name.

    Deterministic: the same inputs and options give byte-identical files.
    """
    opts = options or BuildOptions()
    if not geo_dir.is_dir():
        raise ZoneError(f"geo_dir {geo_dir} is not a directory; point it at shared/data/geo")
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = _select(opts.states)
    countries = country_geoms(geo_dir)
    zones = maritime_zones(geo_dir, specs, countries, opts.coast_step_m)
    spec_by_code = {s.code: s for s in STATES}
    all_lands = {s.code: state_land(s, countries) for s in STATES}
    by_kind: dict[ZoneKind, list[Feature]] = {k: [] for k in OUTPUT_FILES}
    for f in maritime_features(zones, spec_by_code):
        by_kind[f.kind].append(f)
    by_kind[ZoneKind.WATCH_AREA] = watch_features(geo_dir)
    by_kind[ZoneKind.TRANSIT_GATE] = gate_features(spec_by_code, all_lands, opts.gate_half_width_nm)
    by_kind[ZoneKind.PORT_APPROACH] = port_features(geo_dir, all_lands, opts.port_radius_nm)
    by_kind[ZoneKind.AIRPORT] = airport_features(geo_dir, opts.airport_radius_km)
    return {name: write_collection(out_dir / name, by_kind[kind]) for kind, name in OUTPUT_FILES.items()}
