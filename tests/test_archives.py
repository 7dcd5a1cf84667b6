"""Decoded AIS archives (MarineCadastre CSV / GeoParquet, DMA CSV): sniffed, read as column batches, merged.

Counts are checked against a direct pandas read of the same files; the CSV and GeoParquet copies of
one real day must replay to the same alerts.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mdacentre.decode.archives import read_archive
from mdacentre.decode.archives.merge import merge_steps
from mdacentre.ingest.recordings import sniff_format
from mdacentre.model.batch import Batch, TrackKind, empty_positions, make_key

REPO = Path(__file__).resolve().parent.parent
DMA = REPO / "tests" / "data" / "dma_synthetic.csv"
PR_DAY = "marinecadastre_20200101_puerto_rico_usvi.csv"


def to_geoparquet(csv: Path, out: Path, keep_latlon: bool = False) -> Path:
    """The same rows as GeoParquet (WKB point geometry, GeoParquet metadata), written by geopandas."""
    import geopandas as gpd

    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    geom = gpd.points_from_xy(df["LON"].astype(float), df["LAT"].astype(float), crs="EPSG:4326")
    if not keep_latlon:
        df = df.drop(columns=["LAT", "LON"])
    gpd.GeoDataFrame(df, geometry=geom).to_parquet(out)
    return out


def test_formats_are_sniffed_from_magic_and_header(shared_data: Path, tmp_path: Path) -> None:
    ais = shared_data / "ais"
    assert sniff_format(ais / PR_DAY) == "marinecadastre"
    assert sniff_format(ais / "marinecadastre_20200101_gulf_west.csv.gz") == "marinecadastre"
    assert sniff_format(ais / "aisdb_marinecadastre_noaa_20230101.csv") == "marinecadastre"
    assert sniff_format(DMA) == "dma"
    # gzip told by its magic bytes, not by the file name
    odd = tmp_path / "archive.dat"
    odd.write_bytes(gzip.compress(DMA.read_bytes()))
    assert sniff_format(odd) == "dma"
    assert read_archive(odd).positions.tobytes() == read_archive(DMA).positions.tobytes()
    # snake_case column names (newer MarineCadastre releases) fold to the same names
    snake = tmp_path / "snake.csv"
    snake.write_text("mmsi,base_date_time,latitude,longitude\n366000001,2024-01-01T00:00:00,18.0,-66.0\n")
    assert sniff_format(snake) == "marinecadastre"
    assert read_archive(snake).positions["lat"].tolist() == [18.0]
    assert sniff_format(
        to_geoparquet(ais / "aisdb_marinecadastre_noaa_20230101.csv", tmp_path / "a.parquet")
    ) == ("geoparquet")
    # NMEA stays NMEA
    assert sniff_format(ais / "amsa_risky_ais.txt") == "ais"


@pytest.mark.parametrize("name", [PR_DAY, "marinecadastre_20200101_gulf_west.csv.gz"])
def test_marinecadastre_day_counts_match_a_direct_read(shared_data: Path, name: str) -> None:
    path = shared_data / "ais" / name
    df = pd.read_csv(path)
    b = read_archive(path)
    assert len(b.positions) == len(df.dropna(subset=["LAT", "LON"]))
    assert len(np.unique(b.positions["ident"])) == df["MMSI"].nunique()
    assert np.all(np.diff(b.positions["t"]) >= 0)  # in event-time order
    assert b.positions["t"][0] == pd.Timestamp(df["BaseDateTime"].min(), tz="UTC").timestamp()
    # one static row per vessel and change of its identity (these day files keep one identity)
    last = df.drop_duplicates("MMSI", keep="last").set_index("MMSI")
    st = b.statics
    assert len(np.unique(st["ident"])) == df["MMSI"].nunique()
    names = dict(zip(st["ident"].tolist(), st["name"].tolist(), strict=True))
    assert all(names[m] == str(n)[:20] for m, n in last["VesselName"].items())
    types = dict(zip(st["ident"].tolist(), st["ship_type"].tolist(), strict=True))
    vt = last["VesselType"].dropna()
    assert all(types[m] == int(v) for m, v in vt.items())
    imo = dict(zip(st["ident"].tolist(), st["imo"].tolist(), strict=True))
    # "IMO" and seven digits; longer numbers (IMO167208008 in the Gulf day) are no IMO number: 0
    assert all(
        imo[m] == (int(v[3:]) if len(str(v)) == 10 else 0)
        for m, v in last["IMO"].dropna().items()
        if str(v).startswith("IMO")
    )


def test_marinecadastre_full_columns_give_dimensions_status_and_class(shared_data: Path) -> None:
    path = shared_data / "ais" / "aisdb_marinecadastre_noaa_20230101.csv"
    df = pd.read_csv(path).set_index("MMSI")
    b = read_archive(path)
    st = {int(r["ident"]): r for r in b.statics}
    pos = {int(r["ident"]): r for r in b.positions}
    assert len(pos) == len(df) == 1000
    for mmsi, row in df.iterrows():
        s, p = st[int(mmsi)], pos[int(mmsi)]
        for col, field in (("Length", "length_m"), ("Width", "beam_m"), ("Draft", "draught_m")):
            want = row[col] if pd.notna(row[col]) and row[col] > 0 else np.nan
            assert np.isnan(s[field]) if np.isnan(want) else s[field] == pytest.approx(want), (mmsi, col)
        want_status = int(row["Status"]) if pd.notna(row["Status"]) and 0 <= row["Status"] <= 15 else -1
        assert p["nav_status"] == want_status
        assert p["msg_type"] == (18 if row["TransceiverClass"] == "B" else 1)
    assert (b.positions["msg_type"] == 18).sum() == (df["TransceiverClass"] == "B").sum() > 0


def test_dma_csv_labels_become_ais_codes() -> None:
    b = read_archive(DMA)
    df = pd.read_csv(DMA)
    assert b.rejects == {"bad_value": 1}  # the row at latitude 91 / longitude 181 ("not available")
    assert len(b.positions) == len(df) - 1
    kinds = dict(zip(b.positions["ident"].tolist(), b.positions["kind"].tolist(), strict=False))
    assert kinds[2190047] == TrackKind.BASE_STATION
    assert kinds[992191234] == TrackKind.AID_TO_NAVIGATION
    assert kinds[219000001] == TrackKind.VESSEL
    p = b.positions
    assert p["msg_type"][p["ident"] == 219000002].tolist() == [18, 18]  # class B
    assert p["nav_status"][p["ident"] == 219000003].tolist() == [7, 5]  # fishing, then moored
    assert p["t"][0] == pd.Timestamp("2024-03-01T00:00:00Z").timestamp()
    st = b.statics
    tanker = st[st["ident"] == 219000001]
    assert tanker["ship_type"].tolist() == [81, 81]  # Tanker + Category X: hazardous category X
    assert tanker["draught_m"].tolist() == pytest.approx([9.5, 9.6])  # a new static row on change
    assert tanker["eta"].tolist() == ["03-02 06:30", "03-02 07:00"]
    assert tanker["destination"][0] == "AARHUS" and tanker["imo"][0] == 9123456
    assert tanker["length_m"][0] == 180 and tanker["beam_m"][0] == 32
    trawler = st[st["ident"] == 219000003][0]
    assert trawler["ship_type"] == 30 and trawler["imo"] == 0
    assert trawler["length_m"] == 25 and trawler["beam_m"] == 6  # from A+B, C+D
    yacht = st[st["ident"] == 219000002][0]
    assert yacht["ship_type"] == 37 and yacht["destination"] == "" and yacht["msg_type"] == 24


def test_broken_rows_are_counted_not_fatal(tmp_path: Path) -> None:
    f = tmp_path / "broken.csv"
    f.write_text(
        "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName\n"
        "366000001,2020-01-01 00:00:00,18.0,-66.0,5.0,90.0,91,ONE\n"  # space instead of T: accepted
        "366000001,2020-01-01T00:01:00,18.01,-66.0,5.0,90.0,91,ONE\n"
        "366000002,2020-01-01T00:01:00,18.5\n"  # too few fields
        "366000003,yesterday,18.0,-66.0,5.0,90.0,91,THREE\n"  # no time
        "abc,2020-01-01T00:02:00,18.0,-66.0,5.0,90.0,91,X\n"  # no MMSI
        "366000004,2020-01-01T00:03:00,,,5.0,90.0,91,FOUR\n"  # no position: identity only
    )
    b = read_archive(f)
    assert b.rejects == {"bad_frame": 1, "bad_value": 3}
    assert b.lines == 6
    assert b.positions["ident"].tolist() == [366000001, 366000001]
    assert b.positions["t"][0] == pd.Timestamp("2020-01-01T00:00:00Z").timestamp()
    assert sorted(b.statics["name"].tolist()) == ["FOUR", "ONE"]


def test_replayed_statics_reach_the_track_table(shared_data: Path) -> None:
    from mdacentre.runtime.metrics import Metrics
    from mdacentre.runtime.settings import load_settings
    from mdacentre.service.core import Core
    from mdacentre.service.replay import feed_specs, recording_batches

    path = shared_data / "ais" / "aisdb_marinecadastre_noaa_20230101.csv"
    metrics = Metrics()
    core = Core(load_settings(None), feed_specs([path], ["marinecadastre"]), metrics)
    for batch in recording_batches(core, [path], ["marinecadastre"], metrics):
        core.step(batch)
    t = core.pipeline.table
    row = int(t.lookup(np.array([make_key(TrackKind.VESSEL, 636021061)]))[0])
    c = t.cols
    assert (str(c["name"][row]), str(c["callsign"][row]), int(c["imo"][row])) == (
        "MSC NAISHA III",
        "5LCB4",
        9307839,
    )
    assert (int(c["ship_type"][row]), float(c["length_m"][row]), float(c["beam_m"][row])) == (70, 208.0, 30.0)
    assert float(c["draught_m"][row]) == 8.0
    assert len(t) == 1000


def test_geoparquet_gives_the_same_columns_as_csv(shared_data: Path, tmp_path: Path) -> None:
    csv = shared_data / "ais" / PR_DAY
    a = read_archive(csv)
    for keep in (False, True):
        b = read_archive(to_geoparquet(csv, tmp_path / f"day_{keep}.parquet", keep_latlon=keep))
        assert a.positions.tobytes() == b.positions.tobytes()  # NaN-safe, bit for bit
        assert a.statics.tobytes() == b.statics.tobytes()


def _batch(key_ident: int, times: list[float]) -> Batch:
    p = empty_positions(len(times))
    p["ident"], p["kind"], p["t"] = key_ident, TrackKind.VESSEL, times
    p["key"] = make_key(TrackKind.VESSEL, p["ident"])
    p["lat"], p["lon"] = 18.0, -66.0
    return Batch(positions=p, lines=len(times))


def test_merge_gives_event_time_steps_whatever_the_batching() -> None:
    a = [_batch(1, [0, 10, 70]), _batch(1, [130, 400])]
    b = [_batch(2, [5]), _batch(2, [65, 66, 200]), _batch(2, [401, 1000])]
    out = list(merge_steps([a, b], step_s=60.0))
    times = np.concatenate([x.positions["t"] for x in out])
    assert times.tolist() == sorted(times.tolist()) == [0, 5, 10, 65, 66, 70, 130, 200, 400, 401, 1000]
    cells = [set((x.positions["t"] // 60).tolist()) for x in out]
    assert all(len(c) == 1 for c in cells)  # each batch is one step of event time
    assert sum(x.lines for x in out) == 11
    # the same rows cut differently give the same steps
    again = list(merge_steps([[_batch(1, [0, 10, 70, 130, 400])], [_batch(2, [5, 65, 66, 200, 401, 1000])]]))
    assert [x.positions.tobytes() for x in again] == [x.positions.tobytes() for x in out]


def _replay(files: list[Path], out: Path) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "mdacentre", "replay", *map(str, files), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(x) for x in out.read_text().splitlines()]


def test_csv_and_geoparquet_of_one_day_give_identical_alerts(shared_data: Path, tmp_path: Path) -> None:
    csv = shared_data / "ais" / PR_DAY
    whole = _replay([csv], tmp_path / "csv.jsonl")
    parquet = _replay([to_geoparquet(csv, tmp_path / "day.parquet")], tmp_path / "pq.jsonl")
    assert len(whole) > 100
    assert parquet == whole
    # the day split by vessel into a CSV half and a GeoParquet half, merged again by event time
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    odd = df["MMSI"].astype(int) % 2 == 1
    df[odd].to_csv(tmp_path / "odd.csv", index=False)
    df[~odd].to_csv(tmp_path / "even.csv", index=False)
    to_geoparquet(tmp_path / "even.csv", tmp_path / "even.parquet")
    shutil.copy(tmp_path / "odd.csv", tmp_path / "odd_copy.csv")
    merged = _replay([tmp_path / "odd.csv", tmp_path / "even.parquet"], tmp_path / "merged.jsonl")
    key = lambda a: (a["id"], a["version"])  # noqa: E731
    assert sorted(merged, key=key) == sorted(whole, key=key)
