"""The history archive: what replay records, how it is read back (DuckDB, pyarrow, dask-geopandas, REST),
crash safety of the writer, and the timeline events (port calls, gaps, identity changes)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from mdacentre.core.timeline import EventKind, TimelineTracker
from mdacentre.core.tracks import TrackTable
from mdacentre.core.zones import ZoneKind, load_library
from mdacentre.model.batch import empty_positions, empty_statics, make_key
from mdacentre.model.geodesy import destination
from mdacentre.runtime.settings import repo_root
from mdacentre.sinks.archive.query import History, parse_track
from mdacentre.sinks.archive.schema import Table, positions_table
from mdacentre.sinks.archive.writer import REPLACES_KEY, ArchiveWriter, recover, write_parquet_atomic
from tests.authkit import make_security, sign_in

REPO = repo_root()
DEMO_AIS = REPO / "feeds" / "demo" / "caribbean_ais.nmea"
DEMO_SBS = REPO / "feeds" / "demo" / "caribbean_sbs.txt"


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mdacentre", *args], capture_output=True, check=check, timeout=600
    )


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    data = tmp_path_factory.mktemp("hist") / "var"
    summary = data.parent / "summary.json"
    _cli(
        "replay",
        str(DEMO_AIS),
        str(DEMO_SBS),
        "--data-dir",
        str(data),
        "--out",
        str(data.parent / "alerts.jsonl"),
        "--summary",
        str(summary),
    )
    return data, json.loads(summary.read_text())


def test_replay_archives_every_position_as_geoparquet(demo_archive: tuple[Path, dict[str, object]]) -> None:
    data, summary = demo_archive
    root = data / "history"
    pos = ds.dataset(root / "positions", format="parquet", partitioning="hive")
    assert pos.count_rows() == summary["positions"]
    assert "day" in pos.schema.names
    files = list((root / "positions").rglob("*.parquet"))
    assert files and all(f.parent.name.startswith("day=") for f in files)
    meta = pq.read_schema(files[0]).metadata
    geo = json.loads(meta[b"geo"])
    col = geo["columns"]["geometry"]
    assert col["encoding"] == "WKB" and col["crs"]["id"] == {"authority": "EPSG", "code": 4326}
    assert pq.ParquetFile(files[0]).metadata.row_group(0).column(0).compression == "ZSTD"
    alerts = ds.dataset(root / "alerts", format="parquet", partitioning="hive").to_table()
    lines = (data.parent / "alerts.jsonl").read_text().splitlines()
    assert alerts.num_rows == len(lines)
    assert ds.dataset(root / "statics", format="parquet").count_rows() == summary["statics"]


def test_archive_reads_with_dask_geopandas(demo_archive: tuple[Path, dict[str, object]]) -> None:
    import dask_geopandas

    data, summary = demo_archive
    gdf = dask_geopandas.read_parquet(str(data / "history" / "positions"))
    assert gdf.crs is not None and gdf.crs.to_epsg() == 4326
    sample = gdf.head(5)
    assert (abs(sample.geometry.x - sample["lon"]) < 1e-9).all()
    assert int(gdf.map_partitions(len).compute().sum()) == summary["positions"]


def test_history_sql_track_area(demo_archive: tuple[Path, dict[str, object]]) -> None:
    data, summary = demo_archive
    with History(data / "history") as h:
        n = h.sql("SELECT count(*) AS n FROM positions").column("n")[0].as_py()
        assert n == summary["positions"]
        ident = h.sql(
            "SELECT track_id FROM positions WHERE kind = 'vessel' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        tid = ident.column(0)[0].as_py()
        trk = h.track(parse_track(tid), None, None)
        t = trk.column("t").cast(pa.int64()).to_numpy()
        assert trk.num_rows > 10 and (np.diff(t) >= 0).all()
        assert set(trk.column("track_id").to_pylist()) == {tid}
        lat, lon = trk.column("lat").to_numpy(), trk.column("lon").to_numpy()
        box = (
            float(lon.min()) - 0.01,
            float(lat.min()) - 0.01,
            float(lon.max()) + 0.01,
            float(lat.max()) + 0.01,
        )
        area = h.area(box, None, None, None)
        assert tid in set(area.column("track_id").to_pylist())
        ev = h.sql("SELECT event, count(*) AS n FROM events GROUP BY 1").to_pydict()
        assert {"zone_enter", "zone_exit", "port_arrival"} <= set(ev["event"])
        assert h.sql("SELECT count(*) FROM last_port_of_call").column(0)[0].as_py() > 0


def test_history_cli_exports(demo_archive: tuple[Path, dict[str, object]]) -> None:
    data, _ = demo_archive
    with History(data / "history") as h:
        tid = h.sql(
            "SELECT track_id FROM positions WHERE kind='vessel' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        tid = tid.column(0)[0].as_py()
        n = h.sql(f"SELECT count(*) FROM positions WHERE track_id = '{tid}'").column(0)[0].as_py()
    dd = ["--data-dir", str(data)]
    gj = json.loads(_cli("history", "export", "--track", tid, "--format", "geojson", *dd).stdout)
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == n
    assert all(
        f["geometry"]["type"] == "Point" and f["properties"]["time"].endswith("Z") for f in gj["features"]
    )
    kml = ET.fromstring(_cli("history", "export", "--track", tid, "--format", "kml", *dd).stdout)
    whens = kml.findall(".//{http://www.opengis.net/kml/2.2}when")
    assert len(whens) == n
    rows = list(
        csv.DictReader(
            io.StringIO(_cli("history", "export", "--track", tid, "--format", "csv", *dd).stdout.decode())
        )
    )
    assert len(rows) == n and rows[0]["track_id"] == tid
    out = data.parent / "track.parquet"
    _cli("history", "export", "--track", tid, "--format", "geoparquet", "--out", str(out), *dd)
    import geopandas

    g = geopandas.read_parquet(out)
    assert len(g) == n and g.crs.to_epsg() == 4326
    txt = _cli("history", "sql", "SELECT count(*) AS n FROM alerts", "--format", "csv", *dd).stdout.decode()
    assert txt.splitlines()[0].strip('"') == "n"
    bad = _cli("history", "track", "nonsense:1", *dd, check=False)
    assert bad.returncode == 2 and b"unknown track kind" in bad.stderr


def test_rest_track_history(demo_archive: tuple[Path, dict[str, object]]) -> None:
    from functools import partial

    from fastapi.testclient import TestClient

    from mdacentre.api.history import history_router
    from mdacentre.api.web import MemoryMapState, create_app
    from mdacentre.sinks.archive.scoped import track_history

    data, _ = demo_archive
    app = create_app(
        MemoryMapState(), REPO / "web", security=make_security(data.parent, (("ana", "analyst", None),))
    )
    app.include_router(history_router(partial(track_history, data / "history")))
    c = TestClient(app, base_url="http://127.0.0.1")
    sign_in(c, "ana")
    with History(data / "history") as h:
        tid = h.sql(
            "SELECT track_id FROM positions WHERE kind='vessel' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        tid = tid.column(0)[0].as_py()
        t0 = h.sql(f"SELECT min(t) FROM positions WHERE track_id = '{tid}'").column(0)[0].as_py()
    lo = t0.strftime("%Y-%m-%dT%H:%M:%SZ")
    hi = (t0 + __import__("datetime").timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = c.get(f"/api/tracks/vessel/{tid}/history", params={"from": lo, "to": hi})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    feats = r.json()["features"]
    pts = [f for f in feats if f["properties"]["role"] == "position"]
    assert len(pts) > 3 and all(lo <= f["properties"]["time"][:19] + "Z" <= hi for f in pts)
    assert all(f["properties"]["track_id"] == tid for f in feats)
    assert c.get("/api/tracks/vessel/12ab/history").status_code == 422
    assert c.get("/api/tracks/ship/123/history").status_code == 404
    assert c.get(f"/api/tracks/vessel/{tid}/history", params={"from": "yesterday"}).status_code == 422


# -- writer: crash safety -------------------------------------------------------------------------


def _positions(n: int, t0: float = 1.7682e9) -> np.ndarray:
    p = empty_positions(n)
    ident = 200_000_000 + np.arange(n) % 50
    p["kind"], p["ident"], p["key"] = 1, ident, make_key(1, ident)
    p["t"] = t0 + np.arange(n, dtype=np.float64)
    p["lat"], p["lon"], p["sog"] = 15.0, -70.0 + np.arange(n) * 1e-4, 10.0
    return p


def test_writer_splits_days_compacts_and_keeps_retention(tmp_path: Path) -> None:
    w = ArchiveWriter(tmp_path, flush_s=60, retention_days=1, compact_parts=3)
    day = 86_400.0
    base = 1_768_435_200.0  # 2026-01-15T00:00Z
    for k in range(4):  # four flushes of the same day: three become one compacted file
        w.put(Table.POSITIONS, positions_table(_positions(100, base + k * 100)))
        w.flush()
    d = tmp_path / "positions" / "day=2026-01-15"
    names = sorted(f.name for f in d.glob("*.parquet"))
    assert len(names) == 2 and sum(n.startswith("c-") for n in names) == 1
    assert ds.dataset(d, format="parquet").count_rows() == 400
    merged = pq.read_table(next(d.glob("c-*.parquet")))
    keys = merged.column("key").to_numpy()
    assert (np.diff(keys) >= 0).all()  # sorted by track for track queries
    w.put(Table.POSITIONS, positions_table(_positions(10, base + 3 * day)))  # three days later
    w.close()
    days = sorted(p.name for p in (tmp_path / "positions").iterdir())
    assert days == ["day=2026-01-18"]  # retention: one day behind the newest
    assert not list(tmp_path.rglob(".*"))


def test_recovery_removes_temporary_and_replaced_files(tmp_path: Path) -> None:
    d = tmp_path / "positions" / "day=2026-01-15"
    d.mkdir(parents=True)
    tbl = positions_table(_positions(10))
    write_parquet_atomic(tbl, d / "part-a.parquet", Table.POSITIONS)
    write_parquet_atomic(tbl, d / "part-b.parquet", Table.POSITIONS)
    # a compaction that crashed after its rename, before deleting what it replaces
    write_parquet_atomic(tbl, d / "c-1.parquet", Table.POSITIONS, {REPLACES_KEY: b"part-a.parquet"})
    (d / ".part-c.parquet.tmp").write_bytes(b"PAR1 half a file")
    assert recover(tmp_path) == 2
    assert sorted(f.name for f in d.iterdir()) == ["c-1.parquet", "part-b.parquet"]


def test_sigkill_leaves_only_whole_files(tmp_path: Path) -> None:
    """A replay killed with SIGKILL mid-run: every visible file reads, and a restart recovers."""
    data = tmp_path / "var"
    cfg = tmp_path / "settings.toml"
    cfg.write_text("[archive]\nflush_s = 0.5\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mdacentre",
            "replay",
            str(DEMO_AIS),
            "--speed",
            "3000",
            "--config",
            str(cfg),
            "--data-dir",
            str(data),
            "--out",
            os.devnull,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = data / "history" / "positions"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(root.glob("day=*/*.parquet")):
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    visible = list(root.glob("day=*/*.parquet"))
    assert visible, "nothing was flushed before the kill"
    for f in visible:
        pq.read_table(f)  # raises on a partial file
    recover(data / "history")
    assert not list((data / "history").rglob(".*.tmp"))


# -- timeline -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zones() -> list:
    return load_library(REPO / "geofences")


def _track_positions(
    ident: int, t: np.ndarray, lat: np.ndarray, lon: np.ndarray, sog: np.ndarray
) -> np.ndarray:
    p = empty_positions(len(t))
    p["kind"], p["ident"], p["key"] = 1, ident, make_key(1, ident)
    p["t"], p["lat"], p["lon"], p["sog"] = t, lat, lon, sog
    return p


def _step(tl: TimelineTracker, table: TrackTable, pos: np.ndarray, st: np.ndarray | None = None) -> dict:
    from mdacentre.core.fences import FENCE_EVENT_DTYPE

    st = empty_statics(0) if st is None else st
    table.update(pos, st)
    return tl.step(pos, st, np.empty(0, dtype=FENCE_EVENT_DTYPE))


def test_port_call_follows_gfw_thresholds(zones: list) -> None:
    port = next(z for z in zones if z.kind == ZoneKind.PORT_APPROACH and z.id == "port-AGSJO")
    lon0, lat0 = port.attrs["center"]
    tl, table = TimelineTracker(zones), TrackTable()
    dist = np.array([8000, 5000, 3500, 2500, 2000, 2000, 2000, 3500, 4500, 9000], dtype=float)
    sog = np.array([10, 8, 6, 3, 0.1, 0.0, 0.1, 5, 8, 10], dtype=float)
    lat, lon = destination(np.full(10, lat0), np.full(10, lon0), np.full(10, 90.0), dist)
    t = 1.7682e9 + np.arange(10) * 600.0
    ev = _step(tl, table, _track_positions(310000001, t, lat, lon, sog))
    kinds = list(ev["event"])
    assert kinds == [EventKind.PORT_ARRIVAL.value, EventKind.PORT_DEPARTURE.value]
    assert ev["t"][0] == t[4] and ev["t"][1] == t[8]  # stopped inside 3 km; left beyond 4 km
    assert ev["duration_s"][1] == pytest.approx(t[8] - t[4])
    assert tl.last_port_of_call[int(make_key(1, 310000001))] == ("port-AGSJO", t[4])


def test_port_near_miss_no_stop_or_not_close_enough(zones: list) -> None:
    port = next(z for z in zones if z.id == "port-AGSJO")
    lon0, lat0 = port.attrs["center"]
    tl, table = TimelineTracker(zones), TrackTable()
    t = 1.7682e9 + np.arange(4) * 600.0
    # slow (0.3 kn, not under 0.2) inside 3 km, then away: a pass, not a call
    lat, lon = destination(
        np.full(4, lat0), np.full(4, lon0), np.full(4, 0.0), np.array([2500, 2500, 2500, 9000.0])
    )
    ev = _step(tl, table, _track_positions(310000002, t, lat, lon, np.array([0.3, 0.3, 0.3, 10])))
    assert len(ev["key"]) == 0
    # stopped at 3.5 km without having come within 3 km: never entered
    lat, lon = destination(
        np.full(4, lat0), np.full(4, lon0), np.full(4, 0.0), np.array([6000, 3500, 3500, 6000.0])
    )
    ev = _step(tl, table, _track_positions(310000004, t, lat, lon, np.array([5, 0.0, 0.0, 5])))
    assert len(ev["key"]) == 0


def test_gap_and_identity_changes(zones: list) -> None:
    tl, table = TimelineTracker(zones), TrackTable()
    ident = 310000003
    t = 1.7682e9 + np.array([0, 600, 600 + 3 * 3600], dtype=float)  # a 3 h silence
    ev = _step(tl, table, _track_positions(ident, t, np.full(3, 15.0), np.full(3, -70.0), np.full(3, 10.0)))
    assert list(ev["event"]) == ["gap"] and ev["duration_s"][0] == pytest.approx(3 * 3600)
    st = empty_statics(3)
    st["kind"], st["ident"], st["key"] = 1, ident, make_key(1, ident)
    st["t"] = t[-1] + np.array([10.0, 20.0, 30.0])
    st["name"] = ["NORTH STAR", "NORTH STAR", "SOUTH STAR"]
    st["imo"] = 9123453
    st["draught_m"] = [7.0, 7.02, 9.5]
    ev = _step(
        tl,
        table,
        _track_positions(ident, t[-1:] + 40, np.full(1, 15.0), np.full(1, -70.0), np.full(1, 10.0)),
        st,
    )
    ch = {
        (f, o, n)
        for e, f, o, n in zip(ev["event"], ev["field"], ev["old"], ev["new"], strict=True)
        if e == "identity_change"
    }
    assert ch == {("name", "NORTH STAR", "SOUTH STAR"), ("draught_m", "7.0", "9.5")}
    # the same IMO under an MMSI of another flag (MID 310 Bermuda -> 636 Liberia): a flag change
    st2 = empty_statics(1)
    other = 636000003
    st2["kind"], st2["ident"], st2["key"] = 1, other, make_key(1, other)
    st2["t"], st2["imo"], st2["name"] = t[-1] + 100, 9123453, "SOUTH STAR"
    ev = _step(
        tl,
        table,
        _track_positions(other, t[-1:] + 100, np.full(1, 15.0), np.full(1, -70.0), np.full(1, 10.0)),
        st2,
    )
    flags = [(o, n) for f, o, n in zip(ev["field"], ev["old"], ev["new"], strict=True) if f == "flag"]
    assert flags == [("BM", "LR")]


# -- backtest -------------------------------------------------------------------------------------


def test_backtest_reports_alerts_added_and_removed_with_stable_ids(
    demo_archive: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    import shutil

    from mdacentre.runtime.settings import Settings
    from mdacentre.service.backtest import diff_alerts, run_backtest

    data, _ = demo_archive
    # the candidate sits in a copy of geofences/ (watch-lists and learned context are relative to it)
    shutil.copytree(REPO / "geofences", tmp_path / "g")
    cand = tmp_path / "g" / "candidate.toml"
    text = (REPO / "geofences" / "profiles.toml").read_text()
    assert "[detectors.transits]" in text
    cand.write_text(text.replace("enabled = false", "enabled = true"))  # transit info alerts back on
    settings = Settings(data_dir=data)
    root = data / "history"
    base = run_backtest(settings, REPO / "geofences" / "profiles.toml", root)
    again = run_backtest(settings, REPO / "geofences" / "profiles.toml", root)
    assert [a.id for a in base] == [a.id for a in again] and diff_alerts(base, again) == ([], [])
    added, removed = diff_alerts(base, run_backtest(settings, cand, root))
    assert added and {a.category for a in added} == {"zone_entry"} and removed == []
    # the other way round: switching them off removes exactly those
    added2, removed2 = diff_alerts(run_backtest(settings, cand, root), base)
    assert added2 == [] and [a.id for a in removed2] == [a.id for a in added]


# -- the live service -----------------------------------------------------------------------------


def test_serve_records_positions_alerts_and_acknowledgements(tmp_path: Path) -> None:
    """run_service (as `mdacentre serve`): the archive gets the feed, the alert and its acknowledgement,
    and the service's REST API serves the track's history."""
    import httpx

    from tests.servicekit import TANKER, archived_tanker_service, running_service

    tanker = TANKER
    settings, feeds, http_port = archived_tanker_service(tmp_path, "mda-archive-test")
    make_security(settings.data_dir)  # the watch officer the client signs in as (users file in the data dir)
    base = f"http://127.0.0.1:{http_port}"
    with running_service(settings, feeds), httpx.Client(base_url=base, timeout=5) as client:
        csrf = ""
        deadline = time.monotonic() + 30
        while not csrf and time.monotonic() < deadline:  # the HTTP stage may still be starting
            try:
                csrf = sign_in(client)
            except httpx.TransportError:
                time.sleep(0.3)
        alert = None
        deadline = time.monotonic() + 30
        while alert is None and time.monotonic() < deadline:
            try:
                got = client.get("/api/alerts").json()
            except httpx.HTTPError:
                got = []
            alert = next((a for a in got if a["category"] == "hazardous_cargo"), None)
            time.sleep(0.3)
        assert alert is not None
        r = client.post(
            f"/api/alerts/{alert['id']}/ack", json={"note": "seen"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 200, r.text
        hist: list = []
        deadline = time.monotonic() + 30
        while len(hist) < 20 and time.monotonic() < deadline:
            time.sleep(0.5)
            g = client.get(f"/api/tracks/vessel/{tanker}/history").json()
            hist = [f for f in g["features"] if f["properties"]["role"] == "position"]
        assert len(hist) == 20
    with History(tmp_path / "var" / "history") as h:
        assert h.sql("SELECT count(*) FROM positions").column(0)[0].as_py() == 20
        acks = h.sql("SELECT id, status, ack_by, ack_note FROM acks").to_pylist()
        assert acks == [{"id": alert["id"], "status": "acknowledged", "ack_by": "watch", "ack_note": "seen"}]
        cats = set(h.sql("SELECT category FROM alerts").column(0).to_pylist())
        assert "hazardous_cargo" in cats
