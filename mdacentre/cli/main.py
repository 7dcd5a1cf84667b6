"""Command line: ``mdacentre serve | demo | replay | evaluate | decode | bench | zones | broker-config``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from mdacentre.alerting.broker_config import write_broker_config
from mdacentre.alerting.store import STORE_FILE, backup_file
from mdacentre.cli import contextlearn, schemas, zonebuild
from mdacentre.cli.bench import run_bench
from mdacentre.cli.bench_live import run_live, run_udp
from mdacentre.core import zones
from mdacentre.decode.archives import archive_batches
from mdacentre.decode.recordings import file_batches
from mdacentre.decode.registry import make_decoder
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport, load_feeds
from mdacentre.ingest.playback import PlaybackServer
from mdacentre.ingest.recordings import ARCHIVE_FORMATS, FILE_FORMATS, read_chunks, sniff_format
from mdacentre.model.batch import POSITION_DTYPE, STATIC_DTYPE, Batch, TrackKind
from mdacentre.model.errors import MdaError
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import ClockCheckName, Settings, checkout, load_settings, repo_root
from mdacentre.service.evaluate import evaluate, format_table
from mdacentre.service.wiring import run_service

log = logging.getLogger("mdacentre")


def _settings(args: argparse.Namespace) -> Settings:
    s = load_settings(Path(args.config) if getattr(args, "config", None) else None)

    if getattr(args, "zones", None):
        s = replace(s, zones_dir=Path(args.zones))
    if getattr(args, "profiles", None):
        s = replace(s, profiles=Path(args.profiles))
    if getattr(args, "data_dir", None):
        s = replace(s, data_dir=Path(args.data_dir))
    if getattr(args, "http_port", None) is not None:
        s = replace(s, http=replace(s.http, port=int(args.http_port)))
    if getattr(args, "mqtt_port", None) is not None:
        s = replace(s, mqtt=replace(s.mqtt, port=int(args.mqtt_port), embedded_port=int(args.mqtt_port)))
    if getattr(args, "mqtt_host", None):
        s = replace(s, mqtt=replace(s.mqtt, host=str(args.mqtt_host)))
    return s


def _require(settings: Settings, *names: str) -> None:
    for name in names:
        settings.existing(name)


# -- replay / decode --------------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace) -> int:
    from mdacentre.cli.replay import replay_args

    if getattr(args, "serve", False):
        from mdacentre.cli.replayserve import serve_replay

        rc = serve_replay(args, _settings(args))
        if args.out:
            _audit(
                args, "export", {"command": "replay --serve", "out": str(args.out), "files": list(args.files)}
            )
        return rc

    settings = _settings(args)
    _require(settings, "zones_dir", "profiles")
    if args.no_archive:
        from dataclasses import replace

        settings = replace(settings, archive=replace(settings.archive, enabled=False))
    core, metrics, by_cat, wall_s = replay_args(args, settings)
    summary = replay_summary(core, metrics, by_cat, wall_s)
    if args.out:
        files = [str(p) for p in args.files]
        _audit(args, "export", {"command": "replay", "out": str(args.out), "files": files})
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary), file=sys.stderr)
    return 0


def replay_progress(core: Any, watermark: float, wall_s: float) -> str:
    from mdacentre.model.findings import iso

    at = iso(watermark) if np.isfinite(watermark) else "-"
    rate = core.pipeline.positions_in / max(wall_s, 1e-9)
    return f"replay: {core.pipeline.positions_in:,} positions ({rate:,.0f}/s), event time {at}"


def replay_summary(core: Any, metrics: Metrics, by_cat: Counter[str], wall_s: float) -> dict[str, Any]:
    table = core.pipeline.table
    live = table.live_rows()
    with_pos = live[np.isfinite(table.cols["lat"][live])]
    kinds = Counter(TrackKind(int(k)).label for k in table.cols["kind"][with_pos])
    rejects = {k: int(v) for k, v in metrics.by_label("mda_rejects_total", "reason").items()}
    return {
        "lines": core.lines_in,
        "positions": core.pipeline.positions_in,
        "statics": core.pipeline.statics_in,
        "tracks": len(table),
        "tracks_with_position": int(len(with_pos)),
        "tracks_with_position_by_kind": dict(kinds),
        # MMSIs (any AIS kind) with a position: one MMSI can be both a base station and a vessel
        "mmsis_with_position": int(
            len(np.unique(table.cols["ident"][with_pos][table.cols["kind"][with_pos] != TrackKind.AIRCRAFT]))
        ),
        "rejects": rejects,
        "internal_errors": int(metrics.total("mda_internal_errors_total")),  # bugs, not bad input
        "alerts_by_category": dict(by_cat),
        "wall_s": round(wall_s, 3),
    }


def cmd_decode(args: argparse.Namespace) -> int:
    totals: Counter[str] = Counter()
    internal_errors = 0
    rejects: Counter[str] = Counter()
    out = sys.stdout.buffer
    for i, name in enumerate(args.files):
        p = Path(name)
        fmt = sniff_format(p) if args.format == "auto" else args.format
        if fmt in ("opensky", "readsb_trace"):
            batches: Iterator[Batch] = file_batches(p, fmt, i)
        elif fmt in ARCHIVE_FORMATS:
            batches = archive_batches(p, i)
        else:
            spec = FeedSpec(name=p.name, kind=FeedKind(fmt), transport=Transport.FILE, path=str(p))
            dec = make_decoder(spec, i)
            batches = (dec.decode(ch.data, ch.receive_time) for ch in read_chunks(p, i, p.stat().st_mtime))
        for b in batches:
            rejects.update({k: int(v) for k, v in b.rejects.items()})
            internal_errors += b.internal_errors  # bugs of a decoder, not bad input
            for arr, dt, label in (
                (b.positions, POSITION_DTYPE, "position"),
                (b.statics, STATIC_DTYPE, "static"),
            ):
                totals.update(f"{label}:{int(m)}" for m in arr["msg_type"])
                if args.summary:
                    continue
                for rec in arr:
                    d: dict[str, Any] = {"record": label}
                    for f in dt.names or ():
                        v = rec[f].item()
                        if isinstance(v, float) and not np.isfinite(v):
                            v = None
                        d[f] = v
                    out.write(orjson.dumps(d) + b"\n")
    if args.summary:
        print(
            json.dumps(
                {
                    "records_by_type": dict(sorted(totals.items())),
                    "rejects": dict(rejects),
                    "internal_errors": internal_errors,
                },
                indent=2,
            )
        )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    rep = evaluate(
        [Path(f) for f in args.files],
        _settings(args),
        Path(args.plant) if args.plant else None,
        fmt=args.format,
        step_s=args.step_s,
    )
    text = json.dumps(rep, indent=1, sort_keys=True) if args.json else format_table(rep)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        _audit(args, "report", {"command": "evaluate", "out": str(args.out), "files": list(args.files)})
    print(text)
    return 0


# -- serve / demo ---------------------------------------------------------------------------


def _run_async(coro_factory: Any) -> int:
    stop = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await coro_factory(stop)

    asyncio.run(main())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _require(settings, "zones_dir", "profiles", "web_dir")
    feeds = load_feeds(Path(args.feeds) if args.feeds else settings.feeds_dir)
    if not feeds:
        log.warning(
            "no enabled feed definitions in %s: the service runs with no input",
            args.feeds or settings.feeds_dir,
        )
    print(
        f"mdacentre: map on http://{settings.http.host}:{settings.http.port}  feeds: {[f.name for f in feeds]}",
        file=sys.stderr,
    )
    return _run_async(lambda stop: run_service(settings, feeds, stop))


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _require(settings, "zones_dir", "profiles", "web_dir")
    # the demo plays a recording faster than real time: its times are checked against the feed's own
    settings = replace(settings, time=replace(settings.time, clock_check=ClockCheckName.FEED))
    demo_dir = settings.feeds_dir / "demo"
    ais_file = demo_dir / "caribbean_ais.nmea"
    sbs_file = demo_dir / "caribbean_sbs.txt"
    if not ais_file.is_file():
        raise MdaError(
            f"demo feed {ais_file} is missing: run the demo from a checkout, set feeds_dir (MDA_FEEDS_DIR) "
            "to a folder with demo/, or regenerate it with `python -m tools.demo_feed`"
        )

    async def main(stop: asyncio.Event) -> None:
        servers = [PlaybackServer(ais_file, speed=args.speed, loop_forever=True)]
        if sbs_file.is_file():
            servers.append(PlaybackServer(sbs_file, speed=args.speed, loop_forever=True))
        ports = [await s.start() for s in servers]
        feeds = [FeedSpec(name="demo-ais", kind=FeedKind.AIS, transport=Transport.TCP_CLIENT, port=ports[0])]
        if len(ports) > 1:
            feeds.append(
                FeedSpec(name="demo-sbs", kind=FeedKind.SBS, transport=Transport.TCP_CLIENT, port=ports[1])
            )
        print(
            f"mdacentre demo: map on http://{settings.http.host}:{settings.http.port} ; alerts on "
            f"mqtt://{settings.mqtt.host or settings.mqtt.embedded_host}:{settings.mqtt.port if settings.mqtt.host else settings.mqtt.embedded_port} "
            f"topic {settings.mqtt.topic_prefix}/# ; replaying at {args.speed:g}x",
            file=sys.stderr,
        )
        print(
            f"mdacentre demo: sign in at http://{settings.http.host}:{settings.http.port}/login ; "
            f"users: `mdacentre users list --data-dir {settings.data_dir}`, a new password: "
            f"`mdacentre users passwd watch --data-dir {settings.data_dir}`; MQTT users and passwords: "
            f"{settings.data_dir / 'mosquitto' / 'credentials'}",
            file=sys.stderr,
        )
        try:
            await run_service(settings, feeds, stop)
        finally:
            for s in servers:
                await s.close()

    return _run_async(main)


# -- bench / zones ------------------------------------------------------------------------


def cmd_bench(args: argparse.Namespace) -> int:
    if getattr(args, "udp", False):
        res = run_udp([int(r) for r in str(args.udp_rates).split(",") if r.strip()], float(args.live_seconds))
    elif getattr(args, "live", False):
        rates = [int(r) for r in str(args.rates).split(",") if r.strip()]
        res = run_live(rates, seconds=float(args.live_seconds))
    else:
        res = run_bench(quick=args.quick)
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:32s} {v}")
    return 0


def cmd_zones(args: argparse.Namespace) -> int:
    if args.zones_cmd == "build":
        geo = Path(args.geo) if args.geo else repo_root().parent / "shared" / "data" / "geo"
        out = Path(args.out) if args.out else repo_root() / "geofences"
        print(json.dumps(zonebuild.build_library(geo, out), indent=2))
    elif args.zones_cmd == "validate":
        ok = True
        for f in args.files:
            try:
                zs = zones.validate_file(Path(f))
                print(f"{f}: OK, {len(zs)} zones")
            except MdaError as exc:
                ok = False
                print(f"{f}: INVALID: {exc}", file=sys.stderr)
        return 0 if ok else 1
    elif args.zones_cmd == "preview":
        lib = zones.load_library(Path(args.dir) if args.dir else repo_root() / "geofences")
        out = Path(args.out or "zones_preview.html")
        zones.preview_html(lib, out)
        print(f"wrote {out}")
    elif args.zones_cmd == "learn":
        print(json.dumps(contextlearn.run(args), indent=2))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(json.dumps(backup_file(settings.data_dir / STORE_FILE, Path(args.out)), indent=2))
    return 0


def cmd_broker_config(args: argparse.Namespace) -> int:
    rules = Path(args.rules) if args.rules else load_settings(None).existing("alerting_dir") / "routing.toml"
    tls = None
    if args.tls_certfile:
        from mdacentre.alerting.broker_config import TlsOptions

        tls = TlsOptions(
            cafile=Path(args.tls_cafile or args.tls_certfile),
            certfile=Path(args.tls_certfile),
            keyfile=Path(args.tls_keyfile or args.tls_certfile),
            port=args.tls_port,
            bind=args.tls_bind,
            require_certificate=args.require_certificate,
        )
    res = write_broker_config(rules, Path(args.out), port=args.port, tls=tls)
    _audit(args, "config_changed", {"command": "broker-config", "rules": str(rules), "out": str(args.out)})
    print(json.dumps(res, indent=2))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    if args.name:
        try:
            print(schemas.by_name(args.name).render(), end="")
        except KeyError:
            raise MdaError(
                f"schema: no schema {args.name!r}; use one of {[s.name for s in schemas.SCHEMAS]}"
            ) from None
        return 0
    root = Path(args.root) if args.root else (checkout() or Path.cwd())
    if args.write:
        for path in schemas.write(root):
            print(f"wrote {root / path}")
        return 0
    out_of_date = schemas.stale(root)
    for path in out_of_date:
        print(f"{root / path}: out of date; run `mdacentre schema --write`", file=sys.stderr)
    if args.check:
        return 1 if out_of_date else 0
    for s in schemas.SCHEMAS:
        print(f"{s.name:10s} {s.path}")
    return 0


def _audit(args: argparse.Namespace, event: str, details: dict[str, Any]) -> None:
    from mdacentre.cli.users import audit_cli
    from mdacentre.runtime.audit import AuditEvent

    audit_cli(args, AuditEvent(event), details)


# -- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mdacentre", description="Maritime and airspace situational awareness service."
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", help="settings TOML file (environment MDA_* overrides it)")
        sp.add_argument("--zones", help="zone library directory (default geofences/)")
        sp.add_argument("--profiles", help="risk profiles TOML (default geofences/profiles.toml)")
        sp.add_argument("--data-dir", help="where the outbox and alert store live (default var/)")

    sp = sub.add_parser("serve", help="run the live service from the feed definitions in feeds/")
    common(sp)
    sp.add_argument("--feeds", help="directory of feed definitions (*.toml)")
    sp.add_argument("--http-port", type=int, help="port of the map and API (default 8000)")
    sp.add_argument("--mqtt-host", help="external MQTT broker host (default: embedded Mosquitto)")
    sp.add_argument("--mqtt-port", type=int, help="MQTT port (default 1883)")
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("demo", help="the main job: the service on the bundled Caribbean demo feed")
    common(sp)
    sp.add_argument(
        "--speed", type=float, default=60.0, help="times real speed of the demo feed (default 60)"
    )
    sp.add_argument("--http-port", type=int, help="port of the map and API (default 8000)")
    sp.add_argument("--mqtt-host", help="external MQTT broker host (default: embedded Mosquitto)")
    sp.add_argument("--mqtt-port", type=int, help="MQTT port (default 1883)")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("replay", help="run recordings through the live pipeline; alerts as JSON lines")
    common(sp)
    sp.add_argument(
        "files",
        nargs="+",
        help="recordings (NMEA, SBS, Beast, AVR, aircraft.json, OpenSky, readsb trace; .gz ok) or decoded "
        "AIS archives (MarineCadastre CSV or GeoParquet, Danish Maritime Authority CSV); several files "
        "are merged in event-time order",
    )
    sp.add_argument(
        "--format",
        choices=FILE_FORMATS + ARCHIVE_FORMATS,
        default="auto",
        help="input format (default: guess per file)",
    )
    sp.add_argument(
        "--speed", type=float, default=0.0, help="times real speed (default: as fast as possible)"
    )
    sp.add_argument("--out", help="write alerts here (JSON lines) instead of stdout")
    sp.add_argument("--summary", help="also write the run summary (JSON) to this file")
    sp.add_argument(
        "--no-archive", action="store_true", help="do not record into the history archive (data-dir/history)"
    )
    sp.add_argument("--progress", action="store_true", help="print progress to stderr every 5 s")
    sp.add_argument(
        "--serve", action="store_true", help="show the replay on the map, with pause, speed and seek"
    )
    sp.set_defaults(func=cmd_replay)

    sp = sub.add_parser(
        "evaluate", help="alerts per day, share of tracks flagged and recall on planted threats, per category"
    )
    common(sp)
    sp.add_argument("files", nargs="+", help="recordings of one period (as for replay), merged in event time")
    sp.add_argument("--plant", help="scenario TOML file or directory to plant (e.g. feeds/scenarios)")
    sp.add_argument("--format", choices=FILE_FORMATS + ARCHIVE_FORMATS, default="auto")
    sp.add_argument(
        "--step-s", type=float, default=60.0, help="seconds of event time per pipeline step (default 60)"
    )
    sp.add_argument("--json", action="store_true", help="the report as JSON (schema mdacentre.evaluate/1)")
    sp.add_argument("--out", help="also write the report to this file")
    sp.set_defaults(func=cmd_evaluate)

    sp = sub.add_parser("decode", help="print decoded records of recordings as JSON lines")
    sp.add_argument("files", nargs="+")
    sp.add_argument("--format", choices=FILE_FORMATS + ARCHIVE_FORMATS, default="auto")
    sp.add_argument("--summary", action="store_true", help="only counts by message type and reject reason")
    sp.set_defaults(func=cmd_decode)

    sp = sub.add_parser("bench", help="measure decode, fence and replay rates against baselines")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sp.add_argument("--quick", action="store_true", help="small sizes (CI)")
    sp.add_argument(
        "--live", action="store_true", help="latency line in (TCP) to alert out (real Mosquitto) instead"
    )
    sp.add_argument(
        "--rates", default="2000,10000,50000", help="lines/s of the --live runs (comma-separated)"
    )
    sp.add_argument("--live-seconds", type=float, default=10.0, help="seconds sent at each --live rate")
    sp.add_argument("--udp", action="store_true", help="UDP ingest: kernel drops at --udp-rates datagrams/s")
    sp.add_argument("--udp-rates", default="2000,20000", help="datagrams/s of the --udp runs")
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("zones", help="build, validate or preview the zone library")
    zsub = sp.add_subparsers(dest="zones_cmd", required=True)
    zb = zsub.add_parser("build", help="regenerate geofences/ from the raw geography")
    zb.add_argument("--geo", help="directory of raw geography (default ../shared/data/geo)")
    zb.add_argument("--out", help="output directory (default geofences/)")
    zv = zsub.add_parser("validate", help="check a user's zone file (GeoJSON, GeoPackage, Shapefile)")
    zv.add_argument("files", nargs="+")
    zp = zsub.add_parser("preview", help="write an HTML map of the library")
    zp.add_argument("--dir")
    zp.add_argument("--out")

    contextlearn.add_parser(zsub)
    sp.set_defaults(func=cmd_zones)

    sp = sub.add_parser("backup", help="copy the alert store while the service runs (SQLite online backup)")
    sp.add_argument("out", help="the backup file to write (must not exist)")
    sp.add_argument("--config", help="settings TOML file (environment MDA_* overrides it)")
    sp.add_argument("--data-dir", help="the service's data directory (default var/)")
    sp.set_defaults(func=cmd_backup)

    sp = sub.add_parser("broker-config", help="generate Mosquitto users/ACL from the routing rules")
    sp.add_argument("--rules", help="routing rules (default: routing.toml in alerting_dir, MDA_ALERTING_DIR)")
    sp.add_argument("--out", default="var/mosquitto")
    sp.add_argument("--port", type=int, default=1883)
    sp.add_argument("--tls-certfile", help="server certificate (PEM): also emit a TLS listener")
    sp.add_argument("--tls-keyfile", help="its private key (PEM)")
    sp.add_argument("--tls-cafile", help="CA certificate (PEM) the clients' certificates are checked against")
    sp.add_argument("--tls-port", type=int, default=8883)
    sp.add_argument("--tls-bind", default="0.0.0.0", help="address of the TLS listener (default all)")
    sp.add_argument(
        "--require-certificate", action="store_true", help="TLS clients must present a certificate of the CA"
    )
    sp.add_argument("--data-dir", help="data directory whose audit trail records the change (default var/)")
    sp.set_defaults(func=cmd_broker_config)

    sp = sub.add_parser("schema", help="JSON Schemas of the operator files (print, --write or --check)")
    sp.add_argument("name", nargs="?", help="print this schema: feed, routing, profiles or settings")
    sp.add_argument("--write", action="store_true", help="regenerate the shipped schema files")
    sp.add_argument("--check", action="store_true", help="exit 1 when a shipped schema is out of date")
    sp.add_argument("--root", help="checkout to write into or check (default: this checkout)")
    sp.set_defaults(func=cmd_schema)

    from mdacentre.cli.history import register as register_history

    register_history(sub, common, _settings)
    from mdacentre.cli.report import register as register_report

    register_report(sub, common, _settings)
    from mdacentre.cli.users import add_parsers as add_user_parsers

    add_user_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except MdaError as exc:
        print(f"mdacentre: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
