"""``python -m mdacentre.cli.zonebuild GEO_DIR OUT_DIR``: rebuild the zone library."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mdacentre.cli.zonebuild import build_library


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mdacentre.cli.zonebuild GEO_DIR OUT_DIR``: rebuild the library (until the CLI has it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m mdacentre.cli.zonebuild GEO_DIR OUT_DIR", file=sys.stderr)
        return 2
    counts = build_library(Path(args[0]), Path(args[1]))
    for name, n in counts.items():
        print(f"{name}: {n} zones")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
