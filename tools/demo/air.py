"""Aircraft paths (airliners, scripted flights) and their SBS-1 BaseStation lines."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mdacentre.model.geodesy import FloatArray, bearing_deg, destination, great_circle, haversine
from tools.demo.catalogue import EARTH_RADIUS_NM, in_box
from tools.demo.fleet import stream, utc
from tools.demo.inputs import Airport

# ----------------------------------------------------------------------------- aircraft


@dataclass
class Flight:
    """An aircraft path sampled every ``STEP`` seconds."""

    hexid: int
    callsign: str
    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    alt: FloatArray
    gs: FloatArray
    trk: FloatArray
    vr: FloatArray
    ground: npt.NDArray[np.bool_]
    squawks: list[tuple[float, int]]  # (from time, code), sorted

    def squawk_at(self, t: float) -> int:
        code = self.squawks[0][1]
        for t_from, c in self.squawks:
            if t >= t_from:
                code = c
        return code


AC_STEP = 5.0


def _kinematics(
    t: FloatArray, lat: FloatArray, lon: FloatArray, alt: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    dist = haversine(lat[:-1], lon[:-1], lat[1:], lon[1:], EARTH_RADIUS_NM)
    dt = np.diff(t)
    gs = np.append(dist / dt * 3600.0, dist[-1] / dt[-1] * 3600.0 if len(dt) else 0.0)
    trk = np.asarray(bearing_deg(lat[:-1], lon[:-1], lat[1:], lon[1:]), dtype=np.float64)
    trk = np.append(trk, trk[-1] if len(trk) else 0.0)
    vr = np.append(np.diff(alt) / dt * 60.0, 0.0)
    return gs, trk, vr


def airliner(
    hexid: int, callsign: str, a: Airport, b: Airport, t_dep: float, rng: np.random.Generator
) -> Flight:
    total = float(haversine(a.lat, a.lon, b.lat, b.lon, EARTH_RADIUS_NM))
    cruise = 24000.0 if total < 250 else float(rng.choice([34000.0, 36000.0, 38000.0]))
    d, t = 0.0, t_dep
    ts, ds, alts = [], [], []
    while d < total:
        alt = min(cruise, a.elevation_ft + 1500.0 + d * 320.0, b.elevation_ft + (total - d) * 310.0)
        frac = max(0.0, min(1.0, (alt - 10000.0) / max(cruise - 10000.0, 1.0)))
        gs = 250.0 + 210.0 * frac if d > 6.0 else 160.0 + 15.0 * d
        ts.append(t)
        ds.append(d)
        alts.append(alt)
        d += gs * AC_STEP / 3600.0
        t += AC_STEP
    n = max(2, int(total) + 2)
    glat, glon = great_circle(a.lat, a.lon, b.lat, b.lon, n)
    cum = np.linspace(0.0, total, n)
    dd = np.array(ds)
    lat, lon = np.interp(dd, cum, glat), np.interp(dd, cum, glon)
    tt, alt_a = np.array(ts), np.round(np.array(alts) / 25.0) * 25.0
    gs_a, trk, vr = _kinematics(tt, lat, lon, alt_a)
    sq = int("".join(str(x) for x in rng.integers(0, 8, 4)))
    if sq in (7500, 7600, 7700, 1200) or sq < 1000:
        sq = 2000 + sq % 1000
    return Flight(
        hexid, callsign, tt, lat, lon, alt_a, gs_a, trk, vr, np.zeros(len(tt), dtype=bool), [(t_dep, sq)]
    )


def _path_flight(
    hexid: int, callsign: str, pts: list[tuple[float, float, float, float]], squawk: int
) -> Flight:
    """Flight through timed points (t, lat, lon, alt) sampled every AC_STEP (straight between points)."""
    pt = np.array([p[0] for p in pts])
    tt = np.arange(pt[0], pt[-1] + 0.001, AC_STEP)
    lat = np.interp(tt, pt, [p[1] for p in pts])
    lon = np.interp(tt, pt, [p[2] for p in pts])
    alt = np.interp(tt, pt, [p[3] for p in pts])
    gs, trk, vr = _kinematics(tt, lat, lon, alt)
    return Flight(
        hexid,
        callsign,
        tt,
        lat,
        lon,
        np.round(alt / 25.0) * 25.0,
        gs,
        trk,
        vr,
        np.zeros(len(tt), dtype=bool),
        [(float(pt[0]), squawk)],
    )


def landing_flight(t0: float, spot: tuple[float, float]) -> tuple[Flight, float]:
    """Light aircraft low over the sea from the south, landing on a strip away from any airport."""
    slat, slon = spot
    start = destination(slat, slon, 200.0, 85.0, EARTH_RADIUS_NM)
    fin = destination(slat, slon, 200.0, 4.0, EARTH_RADIUS_NM)
    t_start = t0 + 6 * 60.0
    t_fin = t_start + float(haversine(start[0], start[1], fin[0], fin[1], EARTH_RADIUS_NM)) / 140.0 * 3600.0
    t_td = t_fin + 4.0 / 110.0 * 3600.0
    stop = destination(slat, slon, 20.0, 0.25, EARTH_RADIUS_NM)
    pts = [
        (t_start, start[0], start[1], 800.0),
        (t_fin, fin[0], fin[1], 700.0),
        (t_td, slat, slon, 0.0),
        (t_td + 30.0, stop[0], stop[1], 0.0),
    ]
    f = _path_flight(0xA4F3C2, "N318DM", pts, 1200)
    f.ground = f.t >= t_td
    park = f.t[-1] + np.arange(AC_STEP, 300.0 + AC_STEP, AC_STEP)
    f.t = np.concatenate([f.t, park])
    for name in ("lat", "lon"):
        arr = getattr(f, name)
        setattr(f, name, np.concatenate([arr, np.full(len(park), arr[-1])]))
    for name in ("alt", "gs", "vr"):
        setattr(f, name, np.concatenate([getattr(f, name), np.zeros(len(park))]))
    f.trk = np.concatenate([f.trk, np.full(len(park), f.trk[-1])])
    f.ground = np.concatenate([f.ground, np.ones(len(park), dtype=bool)])
    f.gs[f.ground & (f.t > t_td + 30.0)] = 0.0
    return f, t_td


def circling_flight(t0: float, lat: float, lon: float) -> tuple[Flight, float, float, float]:
    """Aircraft from Kingston that circles over the rendezvous, then returns."""
    ap = (17.9357, -76.7875)
    r_nm, spd, alt = 1.4, 130.0, 1500.0
    t_arr = t0 + 22 * 60.0
    brg_in = float(bearing_deg(ap[0], ap[1], lat, lon))
    entry = destination(lat, lon, (brg_in + 180.0) % 360.0, r_nm, EARTH_RADIUS_NM)
    leg = float(haversine(ap[0], ap[1], entry[0], entry[1], EARTH_RADIUS_NM))
    t_dep = t_arr - leg / 180.0 * 3600.0
    pts = [
        (t_dep, ap[0], ap[1], 1500.0),
        (t_dep + 300.0, *destination(ap[0], ap[1], brg_in, 15.0, EARTH_RADIUS_NM), 5500.0),
        (
            t_arr - 300.0,
            *destination(entry[0], entry[1], (brg_in + 180) % 360, 12.0, EARTH_RADIUS_NM),
            3000.0,
        ),
        (t_arr, entry[0], entry[1], alt),
    ]
    period = 2 * math.pi * r_nm / spd * 3600.0
    n_orbits = 18
    phase0 = math.radians((brg_in + 180.0) % 360.0)
    for k in range(1, n_orbits * 24 + 1):
        ang = phase0 - 2 * math.pi * k / 24
        p = destination(lat, lon, math.degrees(ang) % 360.0, r_nm, EARTH_RADIUS_NM)
        pts.append((t_arr + period * k / 24, p[0], p[1], alt + 50.0 * math.sin(k / 7)))
    t_leave = pts[-1][0]
    pts.append((t_leave + 300.0, *destination(lat, lon, (brg_in + 180) % 360, 12.0, EARTH_RADIUS_NM), 4500.0))
    pts.append((t_leave + 300.0 + leg / 180.0 * 3600.0, ap[0], ap[1], 500.0))
    f = _path_flight(0x0BE1A7, "JDF212", pts, 4312)
    return f, t_arr, t_leave, period


# ----------------------------------------------------------------------------- SBS encoding


def _sbs_time(t: float) -> tuple[str, str]:
    dt = utc(t)
    return dt.strftime("%Y/%m/%d"), dt.strftime("%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def _flag(b: bool) -> str:
    return "-1" if b else "0"


def sbs_line(msg: int, hexid: int, t: float, fields: dict[str, str]) -> str:
    date, time_ = _sbs_time(t)
    cols = ["MSG", str(msg), "1", "1", f"{hexid:06X}", "1", date, time_, date, time_]
    names = (
        "callsign",
        "alt",
        "gs",
        "track",
        "lat",
        "lon",
        "vrate",
        "squawk",
        "alert",
        "emergency",
        "spi",
        "onground",
    )
    cols += [fields.get(n, "") for n in names]
    return ",".join(cols)


def sbs_events(f: Flight, seed: int, t_start: float, t_end: float) -> list[tuple[float, int, int, str]]:
    """(time, hex, order, line) for one aircraft, thinned to what a receiver logs."""
    rng = stream(seed, 900, f.hexid)
    out: list[tuple[float, int, int, str]] = []
    keep = (f.t >= t_start) & (f.t < t_end) & in_box(f.lat, f.lon)
    idx = np.flatnonzero(keep)
    last_sq, last_id, last_sq_t, k = -1, -1e18, -1e18, 0
    for n, i in enumerate(idx):
        t = float(f.t[i]) + float(rng.uniform(0.0, 0.999))
        sq = f.squawk_at(t)
        emerg = sq in (7500, 7600, 7700)
        gnd = bool(f.ground[i])
        if t - last_id >= 300.0:
            out.append((t, f.hexid, k, sbs_line(1, f.hexid, t, {"callsign": f.callsign})))
            last_id, k = t, k + 1
        if sq != last_sq or t - last_sq_t >= (30.0 if emerg else 240.0):
            out.append(
                (
                    t + 0.001,
                    f.hexid,
                    k,
                    sbs_line(
                        6,
                        f.hexid,
                        t + 0.001,
                        {
                            "squawk": f"{sq:04d}",
                            "alert": _flag(sq != last_sq and last_sq != -1),
                            "emergency": _flag(emerg),
                            "spi": "0",
                            "onground": _flag(gnd),
                        },
                    ),
                )
            )
            last_sq, last_sq_t, k = sq, t, k + 1
        pos_every = 3 if not gnd else 2  # every 15 s airborne, 10 s on the ground
        if n % pos_every == 0:
            if gnd:
                out.append(
                    (
                        t + 0.002,
                        f.hexid,
                        k,
                        sbs_line(
                            2,
                            f.hexid,
                            t + 0.002,
                            {
                                "gs": f"{f.gs[i]:.0f}",
                                "track": f"{f.trk[i]:.0f}",
                                "lat": f"{f.lat[i]:.5f}",
                                "lon": f"{f.lon[i]:.5f}",
                                "alert": "0",
                                "emergency": "0",
                                "spi": "0",
                                "onground": "-1",
                            },
                        ),
                    )
                )
            else:
                out.append(
                    (
                        t + 0.002,
                        f.hexid,
                        k,
                        sbs_line(
                            3,
                            f.hexid,
                            t + 0.002,
                            {
                                "alt": f"{f.alt[i]:.0f}",
                                "lat": f"{f.lat[i]:.5f}",
                                "lon": f"{f.lon[i]:.5f}",
                                "alert": "0",
                                "emergency": _flag(emerg),
                                "spi": "0",
                                "onground": "0",
                            },
                        ),
                    )
                )
            k += 1
        if n % 6 == 4 and not gnd:  # velocity every 30 s
            out.append(
                (
                    t + 0.003,
                    f.hexid,
                    k,
                    sbs_line(
                        4,
                        f.hexid,
                        t + 0.003,
                        {"gs": f"{f.gs[i]:.0f}", "track": f"{f.trk[i]:.0f}", "vrate": f"{f.vr[i]:.0f}"},
                    ),
                )
            )
            k += 1
    return out
