"""JSON Schemas of the operator files, generated from the models that read them (``mdacentre schema``).

The schemas are shipped next to the files they describe, so an editor validates a file while it is
written (taplo / Even Better TOML read the ``#:schema`` comment at the top of a TOML file).
``mdacentre schema --write`` regenerates them after a model changes; ``--check`` (and the test
suite) fails when a shipped schema differs from its model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mdacentre.alerting.routing import RoutingFile
from mdacentre.ingest.feeds import FeedFile
from mdacentre.risk.profiles import profiles_file_model
from mdacentre.runtime.config import json_schema
from mdacentre.runtime.settings import Settings


@dataclass(frozen=True)
class SchemaFile:
    name: str
    path: str  # relative to the checkout
    model: Callable[[], type[Any]]
    title: str
    description: str

    def render(self) -> str:
        doc = json_schema(self.model(), self.title, self.description)
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


SCHEMAS = (
    SchemaFile(
        "feed",
        "feeds/feed.schema.json",
        lambda: FeedFile,
        "mdacentre feed definition",
        "One feeds/*.toml file: a source of AIS or ADS-B data (feeds/README.md).",
    ),
    SchemaFile(
        "routing",
        "alerting/routing.schema.json",
        lambda: RoutingFile,
        "mdacentre alert routing rules",
        "alerting/routing.toml: agencies, extra rules and the regional desk (alerting/README.md).",
    ),
    SchemaFile(
        "profiles",
        "geofences/profiles.schema.json",
        profiles_file_model,
        "mdacentre risk profiles and detector settings",
        "geofences/profiles.toml: [[profile]] entries and [detectors.*] tables (docs/detectors.md).",
    ),
    SchemaFile(
        "settings",
        "docs/settings.schema.json",
        lambda: Settings,
        "mdacentre settings file",
        "The TOML file given with --config; every key can also be set as MDA_<SECTION>_<KEY>.",
    ),
)


def by_name(name: str) -> SchemaFile:
    for s in SCHEMAS:
        if s.name == name:
            return s
    raise KeyError(name)


def stale(root: Path) -> list[str]:
    """Shipped schema files under ``root`` that are missing or differ from their models."""
    out: list[str] = []
    for s in SCHEMAS:
        p = root / s.path
        if not p.is_file() or p.read_text(encoding="utf-8") != s.render():
            out.append(s.path)
    return out


def write(root: Path) -> list[str]:
    """Write every schema under ``root``; the paths written (only those that changed)."""
    changed = stale(root)
    for s in SCHEMAS:
        if s.path in changed:
            (root / s.path).parent.mkdir(parents=True, exist_ok=True)
            (root / s.path).write_text(s.render(), encoding="utf-8")
    return changed
