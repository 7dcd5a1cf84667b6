"""AIS reports: report times, position and static messages, NMEA encoding with tag blocks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from pyais.encode import encode_dict

from mdacentre.model.geodesy import FloatArray, haversine
from tools.demo.catalogue import (
    EARTH_RADIUS_NM,
    SATELLITE_STATION,
    STATIC_PERIOD_S,
    STATION_RANGE_NM,
    STATIONS,
    AisClass,
    NavStatus,
    in_box,
)
from tools.demo.fleet import Vessel, stream

# ----------------------------------------------------------------------------- AIS encoding


def report_interval(ais_class: AisClass, speed: float, status: int, scenario: bool) -> float:
    """Seconds between received position reports.

    The ITU rates (class A 2-10 s under way, 3 min at anchor; class B 30 s) thinned the way a
    shore network that forwards about one report per vessel and minute or two does; the scripted
    vessels keep a denser feed so that their incidents are sharp.
    """
    if status in (NavStatus.AT_ANCHOR, NavStatus.MOORED) or speed < 0.5:
        return 180.0
    if speed > 23.0:
        return 10.0
    if scenario:
        return 60.0 if ais_class == AisClass.A else 90.0
    if ais_class == AisClass.B:
        return 180.0 if speed < 2.0 else 150.0
    if speed < 3.0:
        return 150.0
    return 90.0 if speed > 14.0 else 120.0


def report_times(v: Vessel, rng: np.random.Generator, t_end: float) -> npt.NDArray[np.int64]:
    tr = v.track
    t = float(tr.t[0]) + float(rng.uniform(0, 20.0))
    out: list[int] = []
    last_end = min(float(tr.t[-1]), t_end)
    while t < last_end:
        out.append(int(t))
        spd, st = tr.segment_at(t)
        base = (
            v.fast_interval_s
            if v.fast_interval_s is not None and spd > 2.0
            else report_interval(v.ais_class, spd, st, v.always_report)
        )
        t += max(2.0, base * float(rng.uniform(0.8, 1.2)))
    times = np.unique(np.array(out, dtype=np.int64))
    for a, b in v.silences:
        times = times[(times < a) | (times >= b)]
    return times


def nearest_station(lat: FloatArray, lon: FloatArray) -> list[str]:
    st_lat = np.array([s[1] for s in STATIONS])
    st_lon = np.array([s[2] for s in STATIONS])
    d = haversine(lat[:, None], lon[:, None], st_lat[None, :], st_lon[None, :], EARTH_RADIUS_NM)
    k = np.argmin(d, axis=1)
    near = d[np.arange(len(lat)), k] <= STATION_RANGE_NM
    return [STATIONS[int(i)][0] if ok else SATELLITE_STATION for i, ok in zip(k, near, strict=True)]


@dataclass(order=True)
class AisEvent:
    t: int
    vessel: int
    k: int
    station: str = field(compare=False)
    data: dict[str, Any] = field(compare=False)


def position_events(
    v: Vessel, seed: int, t_start: float, t_end: float, t_horizon: float
) -> tuple[list[AisEvent], npt.NDArray[np.int64]]:
    """Position reports before ``t_end`` and the times of every report up to ``t_horizon``.

    Everything random is drawn for the whole planning horizon, so a shorter run is an exact prefix.
    """
    r_t, r_n = stream(seed, 800, v.idx), stream(seed, 801, v.idx)
    times = report_times(v, r_t, t_horizon)
    times = times[times >= t_start]
    if len(times) == 0:
        return [], times
    lat, lon, spd, crs, st = v.track.state(times.astype(np.float64))
    n = len(times)
    pos_noise = r_n.normal(0.0, 4.0 / 111_000.0, size=(n, 2))
    lat = lat + pos_noise[:, 0]
    lon = lon + pos_noise[:, 1] / np.cos(np.radians(lat))
    sog = np.clip(spd + r_n.normal(0.0, 0.12 if v.ais_class == AisClass.A else 0.25, size=n), 0.0, 102.2)
    sog = np.where(spd < 0.05, np.abs(r_n.normal(0.0, 0.05, size=n)), sog)
    cog_noise = np.where(spd < 0.5, r_n.uniform(-60, 60, size=n), r_n.normal(0.0, 1.2, size=n))
    cog = (crs + cog_noise) % 360.0
    hdg = (crs + r_n.normal(0.0, 2.5, size=n)) % 360.0
    keep = np.ones(n, dtype=bool) if v.always_report else in_box(lat, lon)
    times, lat, lon, sog, cog, hdg, st = (
        times[keep],
        lat[keep],
        lon[keep],
        sog[keep],
        cog[keep],
        hdg[keep],
        st[keep],
    )
    for t_j, jlat, jlon in v.jumps:  # spoofed report 2 min after the last genuine one
        prev = times[times <= t_j]
        tj = int(prev[-1] + 120) if len(prev) else int(t_j)
        keep = (times <= t_j) | (times > tj)  # nothing genuine between the two
        times, lat, lon, sog, cog, hdg, st = (
            times[keep],
            lat[keep],
            lon[keep],
            sog[keep],
            cog[keep],
            hdg[keep],
            st[keep],
        )
        j = int(np.searchsorted(times, tj))
        times = np.insert(times, j, tj)
        lat, lon = np.insert(lat, j, jlat), np.insert(lon, j, jlon)
        sog, cog = np.insert(sog, j, sog[max(j - 1, 0)]), np.insert(cog, j, cog[max(j - 1, 0)])
        hdg, st = np.insert(hdg, j, hdg[max(j - 1, 0)]), np.insert(st, j, st[max(j - 1, 0)])
    n_out = int(np.searchsorted(times, t_end))
    stations = nearest_station(lat[:n_out], lon[:n_out])
    events: list[AisEvent] = []
    for k in range(n_out):
        events.append(
            AisEvent(
                int(times[k]),
                v.idx,
                k,
                stations[k],
                _position_dict(
                    v,
                    int(times[k]),
                    float(lat[k]),
                    float(lon[k]),
                    float(sog[k]),
                    float(cog[k]),
                    float(hdg[k]),
                    int(st[k]),
                ),
            )
        )
    return events, times


def _position_dict(
    v: Vessel, t: int, lat: float, lon: float, sog: float, cog: float, hdg: float, status: int
) -> dict[str, Any]:
    common = {
        "mmsi": v.mmsi,
        "speed": round(sog, 1),
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "course": round(cog, 1),
        "second": t % 60,
        "accuracy": 1,
    }
    if v.pos_type == 18:
        return {
            "type": 18,
            **common,
            "heading": 511,
            "cs": 1,
            "display": 0,
            "dsc": 1,
            "band": 1,
            "msg22": 1,
            "radio": 393222,
        }
    # pyais picks the class from "type" but takes the bits from "msg_type" (else type 3 encodes as 1)
    return {
        "type": v.pos_type,
        "msg_type": v.pos_type,
        **common,
        "status": status,
        "heading": int(hdg) % 360,
        "radio": 2250 + (t % 97),
    }


def static_events(v: Vessel, seed: int, t_end: float, visible: npt.NDArray[np.int64]) -> list[AisEvent]:
    """Type 5 (class A) or 24A/24B (class B) every ~6 min while the vessel is being received."""
    if not v.send_static or len(visible) == 0:
        return []
    rng = stream(seed, 802, v.idx)
    t = float(visible[0]) + float(rng.uniform(0, STATIC_PERIOD_S))
    out: list[AisEvent] = []
    k = 100_000
    lat, lon, *_ = v.track.state(visible.astype(np.float64))
    while t < min(float(visible[-1]), t_end):
        i = int(np.searchsorted(visible, t))
        i = min(i, len(visible) - 1)
        heard = 0 < i and t - float(visible[i - 1]) < 300.0 and float(visible[i]) - t < 300.0
        if heard:  # only while the vessel is heard (no statics inside a gap)
            station = nearest_station(np.array([lat[i]]), np.array([lon[i]]))[0]
            for j, d in enumerate(_static_dicts(v)):
                ti = int(t) + 2 * j
                if ti < t_end:
                    out.append(AisEvent(ti, v.idx, k + j, station, d))
        k += 10
        t += STATIC_PERIOD_S * float(rng.uniform(0.95, 1.05))
    return out


def _static_dicts(v: Vessel) -> list[dict[str, Any]]:
    bow = int(round(v.length * 0.8))
    port = v.beam // 2
    if v.ais_class == AisClass.B:
        return [
            {"type": 24, "mmsi": v.mmsi, "partno": 0, "shipname": v.name},
            {
                "type": 24,
                "mmsi": v.mmsi,
                "partno": 1,
                "ship_type": v.ship_type,
                "vendorid": "SRT",
                "callsign": v.callsign,
                "to_bow": bow,
                "to_stern": v.length - bow,
                "to_port": port,
                "to_starboard": v.beam - port,
            },
        ]
    eta = v.eta
    return [
        {
            "type": 5,
            "mmsi": v.mmsi,
            "ais_version": 0,
            "imo": v.imo,
            "callsign": v.callsign,
            "shipname": v.name,
            "ship_type": v.ship_type,
            "to_bow": bow,
            "to_stern": v.length - bow,
            "to_port": port,
            "to_starboard": v.beam - port,
            "epfd": 1,
            "month": eta.month if eta else 0,
            "day": eta.day if eta else 0,
            "hour": eta.hour if eta else 24,
            "minute": eta.minute if eta else 60,
            "draught": v.draught,
            "destination": v.destination,
            "dte": 0,
        }
    ]


def tag_block(station: str, t: int, group: str | None = None) -> str:
    body = f"s:{station},c:{t}" + (f",g:{group}" if group else "")
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return f"\\{body}*{cs:02X}\\"


def encode_events(events: list[AisEvent]) -> Iterator[str]:
    """NMEA lines in event order; multi-sentence messages get a sequence id and a g: group."""
    seq, group = 0, 0
    for ev in events:
        if ev.data["type"] == 5:
            seq = seq % 9 + 1
            group = group % 9999 + 1
            sentences = encode_dict(
                ev.data, talker_id="AI", sentence_type="VDM", radio_channel="AB"[ev.k % 2], seq_id=seq
            )
            for n, s in enumerate(sentences, start=1):
                yield tag_block(ev.station, ev.t, f"{n}-{len(sentences)}-{group}") + s
        else:
            for s in encode_dict(ev.data, talker_id="AI", sentence_type="VDM", radio_channel="AB"[ev.k % 2]):
                yield tag_block(ev.station, ev.t) + s
