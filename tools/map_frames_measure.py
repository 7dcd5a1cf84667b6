"""Measure what the map's track frames cost the server per tick: one encoding per client or per scope.

A tick is one hub ``tracks`` message moving every one of ``--tracks`` tracks (names and other details
unchanged, as a 1 Hz position update). For N clients of one scope (the watch floor's full picture) it
prints the CPU of this process (``time.process_time``) per tick to build and serialize the frames:

* per client: each client's own :class:`~mdacentre.api.mapwire.TrackWire` and JSON text (before);
* per scope: one :class:`~mdacentre.api.mapwire.SharedFrames` text for all N clients (now);

and the ratio. Sending the text on each socket costs the same either way and is not counted.

Usage::

    python -m tools.map_frames_measure [--tracks 10000] [--ticks 5] [--clients 1 10 50]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from mdacentre.api.mapwire import SharedFrames, TrackWire
from mdacentre.api.web import dumps

LEVELS = ["info", "low", "medium", "high", "critical"]


def fleet(n: int, step: int) -> list[dict[str, Any]]:
    """``n`` vessel documents as the core publishes them; ``step`` moves every one a little."""
    out = []
    for i in range(n):
        out.append(
            {
                "key": f"vessel:{800000000 + i}",
                "kind": "vessel",
                "id": str(800000000 + i),
                "name": f"SHIP {i}",
                "flag": "JM",
                "ship_type": 70,
                "lat": 8.0 + (i % 100) * 0.2 + step * 0.001,
                "lon": -88.0 + (i // 100) * 0.3,
                "sog": 11.5,
                "cog": float((i + step) % 360),
                "heading": float((i + step) % 360),
                "alt_ft": None,
                "t": f"2026-01-15T00:{step % 60:02d}:00Z",
                "score": 20.0 if i % 50 == 0 else 0.0,
                "level": LEVELS[i % 5] if i % 50 == 0 else "info",
                "reasons": ["dark for 2 h"] if i % 50 == 0 else [],
                "voyage": {"destination": "KINGSTON", "draught": 9.1},
            }
        )
    return out


def per_client(msgs: list[dict[str, Any]], clients: int) -> list[float]:
    wires = [TrackWire() for _ in range(clients)]
    for w in wires:
        w.frame(fleet_at(msgs, 0), [])  # the snapshot each client got
    out = []
    for m in msgs[1:]:
        c0 = time.process_time()
        for w in wires:
            dumps(w.frame(list(m["tracks"]), [])).decode("utf-8")
        out.append(time.process_time() - c0)
    return out


def per_scope(msgs: list[dict[str, Any]], clients: int) -> list[float]:
    own = [TrackWire() for _ in range(clients)]
    for w in own:
        w.frame(fleet_at(msgs, 0), [])
    shared = SharedFrames(dumps)
    shared.clients = clients
    out = []
    for m in msgs[1:]:
        c0 = time.process_time()
        for w in own:
            shared.text(m, w)
        out.append(time.process_time() - c0)
    return out


def fleet_at(msgs: list[dict[str, Any]], i: int) -> list[dict[str, Any]]:
    return list(msgs[i]["tracks"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=10_000)
    ap.add_argument("--ticks", type=int, default=5)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    args = ap.parse_args()
    msgs = [
        {"type": "tracks", "tracks": fleet(args.tracks, s), "removed": [], "seq": s + 1}
        for s in range(args.ticks + 1)
    ]
    print(f"{args.tracks} tracks moving, {args.ticks} ticks; CPU ms per tick (median), one scope")
    print(f"{'clients':>8} {'per client':>12} {'per scope':>11} {'ratio':>7}")
    for n in args.clients:
        before = statistics.median(per_client(msgs, n)) * 1000
        after = statistics.median(per_scope(msgs, n)) * 1000
        print(f"{n:>8} {before:>12.1f} {after:>11.1f} {before / after:>6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
