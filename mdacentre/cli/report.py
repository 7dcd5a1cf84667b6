"""``mdacentre report`` (a period report from the archive) and ``mdacentre brief`` (one alert's briefing)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mdacentre.runtime.settings import Settings

SettingsFn = Callable[[argparse.Namespace], Settings]


def report_inputs(settings: Settings) -> Any:
    from mdacentre.alerting.routing import load_rules
    from mdacentre.core.zones import load_library
    from mdacentre.reports.figures import Inputs, load_watchlists

    return Inputs(
        zones=load_library(settings.zones_dir),
        router=load_rules(settings.alerting_dir / "routing.toml"),
        watchlists=load_watchlists(settings.zones_dir / "watchlists"),
    )


def cmd_report(args: argparse.Namespace, settings_fn: SettingsFn) -> int:
    from mdacentre.reports.figures import make_scope
    from mdacentre.reports.render import write_report
    from mdacentre.sinks.archive.query import parse_time

    settings = settings_fn(args)
    inputs = report_inputs(settings)
    t0, t1 = parse_time(args.time_from), parse_time(args.time_to, end=True)
    assert t0 is not None and t1 is not None  # required arguments
    scope = make_scope(t0, t1, args.state, args.agency, inputs.router)
    files = write_report(
        settings.data_dir / settings.archive.dir,
        scope,
        inputs,
        settings.web_dir / "data" / "land.geojson",
        Path(args.out),
    )
    for p in (files.html, files.pdf, files.figures):
        print(f"wrote {p}")
    return 0


def cmd_brief(args: argparse.Namespace, settings_fn: SettingsFn) -> int:
    from mdacentre.reports.brief import write_brief

    settings = settings_fn(args)
    out = Path(args.out or f"brief-{args.alert_id}.html")
    write_brief(settings, args.alert_id, out)
    print(f"wrote {out}")
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None], settings_fn: SettingsFn) -> None:
    """Add ``report`` and ``brief`` to the command line."""
    sp = sub.add_parser(
        "report", help="a period report from the archive: report.html, report.pdf, figures.json"
    )
    common(sp)
    sp.add_argument("--from", dest="time_from", required=True, help="start, ISO 8601 (e.g. 2026-01-01)")
    sp.add_argument(
        "--to", dest="time_to", required=True, help="end, ISO 8601 (a bare date: end of that day)"
    )
    sp.add_argument("--state", help="only alerts of this state, transits in its zones (ISO alpha-2, XX)")
    sp.add_argument("--agency", help="only alerts routed to this agency (id in alerting/routing.toml)")
    sp.add_argument("--out", required=True, help="output directory")
    sp.set_defaults(func=lambda a: cmd_report(a, settings_fn))

    sp = sub.add_parser("brief", help="one self-contained HTML briefing of an alert for an interdiction unit")
    common(sp)
    sp.add_argument("alert_id", help="the alert id (20 hex digits)")
    sp.add_argument("--out", help="output file (default brief-ALERT_ID.html)")
    sp.set_defaults(func=lambda a: cmd_brief(a, settings_fn))
