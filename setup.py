"""Build hook: copies the operator folders into the wheel as package data (``mdacentre/bundled/``).

Everything else about the package is in pyproject.toml. The folders stay at the top of the
checkout, where operators and the tests find them; an installed wheel finds its copies through
``mdacentre.runtime.settings.default_dir``. What is bundled, and why, is listed in BUNDLED below.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

# (folder, what is left out). Shipped: the zone library and profiles (about 3 MB of GeoJSON, the
# service scores nothing without them), routing rules and payload schemas, the map front end with
# Leaflet's dist/ (about 1 MB, the map is served offline), and the feed documentation with its
# schema and examples. Left out: the generated demo feed (feeds/demo, 5 MB; `mdacentre demo` runs
# from a checkout) and the recorded samples (test data).
BUNDLED = (
    ("geofences", ()),
    ("alerting", ()),
    ("web", ("node_modules",)),
    ("feeds", ("demo", "samples")),
)
LEAFLET = Path("web") / "node_modules" / "leaflet" / "dist"


class BuildPyWithOperatorFolders(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders directly
        target = Path(self.build_lib) / "mdacentre" / "bundled"
        shutil.rmtree(target, ignore_errors=True)
        for folder, skip in BUNDLED:
            shutil.copytree(
                ROOT / folder, target / folder, ignore=shutil.ignore_patterns(*skip, "__pycache__")
            )
        if not (ROOT / LEAFLET / "leaflet.js").is_file():
            raise SystemExit(f"{LEAFLET} is missing: run `npm ci --prefix web` before building the wheel")
        shutil.copytree(
            ROOT / LEAFLET, target / LEAFLET, ignore=shutil.ignore_patterns("*.map", "leaflet-src*")
        )
        shutil.copy2(ROOT / LEAFLET.parent / "LICENSE", target / LEAFLET.parent / "LICENSE")


setup(cmdclass={"build_py": BuildPyWithOperatorFolders})
