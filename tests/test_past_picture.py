"""The track picture at a past time from the archive (GET /api/picture): each track's last position within
the lookback, nothing after the time asked, levels of the alerts open then, signed-in and audited."""

from __future__ import annotations

import functools
import io
import tempfile
from pathlib import Path

import duckdb
import pytest
from conftest import REPO
from fastapi.testclient import TestClient

from mdacentre.api.pastpicture import picture_router
from mdacentre.api.web import MemoryMapState, create_app
from mdacentre.cli.replay import run_replay
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import JsonlSink
from mdacentre.service.flags import track_flags
from mdacentre.sinks.archive.picture import past_picture
from tests.authkit import make_security, sign_in
from tests.test_replay_clock import DEMO, recording

START = 1768435200.0  # first time of the demo recording (2026-01-15 00:00 UTC)


@functools.cache
def archive_root() -> Path:
    """The history archive of two hours of the demo recording, replayed once for the module."""
    tmp = Path(tempfile.mkdtemp(prefix="mda-past-"))
    s = Settings(data_dir=tmp)
    run_replay(s, [recording(str(tmp))], JsonlSink(io.BytesIO()), archive=True)
    return tmp / s.archive.dir


@pytest.fixture(scope="module")
def root() -> Path:
    if not DEMO.is_file():
        pytest.skip("the demo recording is missing")
    return archive_root()


def test_picture_is_each_tracks_last_position_before_the_time(root: Path) -> None:
    at = START + 3600
    doc = past_picture(root, at, 1800, flags=track_flags)
    tracks = doc["tracks"]
    assert len(tracks) > 50 and not doc["truncated"]
    assert len({t["key"] for t in tracks}) == len(tracks)
    con = duckdb.connect()
    pos = f"read_parquet('{root}/positions/day=*/*.parquet', hive_partitioning = true)"
    for tr in tracks[:20]:
        t = tr["t"]
        assert "2026-01-15T00:30:00Z" < t <= "2026-01-15T01:00:00Z"
        kind, ident = tr["key"].split(":")
        row = con.execute(
            f"SELECT lat, lon FROM {pos} WHERE key = ? AND epoch(t) <= ? ORDER BY t DESC LIMIT 1",
            [_key(kind, ident), at],
        ).fetchone()
        assert row is not None and (round(row[0], 6), round(row[1], 6)) == (tr["lat"], tr["lon"])
    # identities and flags come along; an aircraft's flag is from its ICAO block, a vessel's from its MID
    assert any(t["name"] for t in tracks)
    vessels = [t for t in tracks if t["kind"] == "vessel" and t["flag"]]
    assert vessels and all(len(t["flag"]) == 2 for t in vessels)
    # stepping forward moves the picture: later positions, nothing from after the time asked
    later = past_picture(root, at + 600, 1800, flags=track_flags)
    assert max(t["t"] for t in later["tracks"]) > max(t["t"] for t in tracks)
    assert max(t["t"] for t in later["tracks"]) <= "2026-01-15T01:10:00Z"
    # before the recording there is no picture
    assert past_picture(root, START - 7200, 1800)["tracks"] == []


def test_picture_marks_tracks_with_alerts_open_at_that_time(root: Path) -> None:
    levels = set()
    for minutes in range(20, 121, 20):
        levels |= {t["level"] for t in past_picture(root, START + minutes * 60, 1800)["tracks"]}
    assert levels - {"info"}, levels


def _key(kind: str, ident: str) -> int:
    from mdacentre.model.batch import TrackKind

    k = TrackKind[kind.upper()]
    return (int(k) << 32) | int(ident, 16 if k == TrackKind.AIRCRAFT else 10)


def test_picture_route_validates_signs_in_and_audits(root: Path, tmp_path: Path) -> None:
    sec = make_security(tmp_path, users=(("watch", "watch", None), ("liz", "liaison", "jm-cg")))
    app = create_app(MemoryMapState(), REPO / "web", security=sec)
    app.include_router(picture_router(lambda at, lb: past_picture(root, at, lb, flags=track_flags)))
    with TestClient(app) as c:
        assert c.get("/api/picture?at=2026-01-15T01:00:00Z").status_code == 401
        sign_in(c, "watch")
        r = c.get("/api/picture?at=2026-01-15T01:00:00Z&lookback_s=1800")
        assert r.status_code == 200 and len(r.json()["tracks"]) > 50
        assert c.get("/api/picture?at=noon").status_code == 422
        assert c.get("/api/picture?at=2026-01-15T01:00:00Z&lookback_s=5").status_code == 422
        assert c.get("/api/picture").status_code == 422
    with TestClient(app) as c:
        sign_in(c, "liz")  # a liaison sees only its agency's alerts, not the whole past picture
        assert c.get("/api/picture?at=2026-01-15T01:00:00Z").status_code == 403
    assert sec.audit is not None
    reads = [r for r in sec.audit.tail(50) if r["actor"] == "watch" and "/api/picture" in str(r["details"])]
    assert reads, sec.audit.tail(10)
