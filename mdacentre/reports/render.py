"""A period report: figures.json, report.html (images inline) and report.pdf (WeasyPrint), all offline."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from mdacentre.core.zones import ZoneKind
from mdacentre.reports import charts
from mdacentre.reports.figures import Inputs, Scope, compute, dumps
from mdacentre.sinks.archive.query import History

SECTIONS = (
    ("alerts", "Alerts"),
    ("transits", "Hazardous-cargo and watch-listed transits"),
    ("incidents", "Going dark and encounters"),
    ("response", "Response indicators"),
    ("gravity", "Top tracks by gravity"),
    ("coverage", "Data coverage"),
)

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>mdacentre report {{ f.scope['from'][:10] }} to {{ f.scope['to'][:10] }}</title>
<style>
@page { size: A4; margin: 16mm 14mm; @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; color: #1d2733; max-width: 60em; margin: auto; }
h1 { font-size: 16pt; margin-bottom: 0; } h2 { font-size: 12.5pt; border-bottom: 1px solid #9bb; margin-top: 1.4em; }
h3 { font-size: 10.5pt; } .sub { color: #556; margin-top: .2em; }
table { border-collapse: collapse; margin: .4em 0 .8em; } th, td { border: 1px solid #ccd; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eef2f6; } td.n { text-align: right; } img { max-width: 100%; } .none { color: #667; font-style: italic; }
section { break-inside: auto; } figure { margin: .4em 0; break-inside: avoid; }
</style></head><body>
<h1>Maritime domain awareness report</h1>
<p class="sub">Event time {{ f.scope['from'] }} to {{ f.scope['to'] }}{% if f.scope.state %} · state {{ f.scope.state }}{% endif %}{% if f.scope.agency %} · agency {{ f.scope.agency }}{% endif %}. Figures from the history archive; definitions in docs/reports.md.</p>
<nav><ol>{% for sid, title in sections %}<li><a href="#{{ sid }}">{{ title }}</a></li>{% endfor %}</ol></nav>

<section id="alerts"><h2>1. Alerts</h2>
<p>{{ f.alerts.total }} alerts started in the period (each situation counted once, at its gravest level).</p>
{% for key, title in [('by_category', 'category'), ('by_level', 'level'), ('by_state', 'state'), ('by_month', 'month')] %}
<h3>By {{ title }}</h3>{{ count_table(f.alerts[key], title) }}
{% endfor %}
{% for name in ['by_category', 'by_level', 'by_state'] %}<figure><img alt="alerts {{ name }}" src="{{ img[name] }}"></figure>{% endfor %}
</section>

<section id="transits"><h2>2. Hazardous-cargo and watch-listed transits</h2>
<p>{{ f.transits.flagged_ships | length }} flagged ships in the archive's static reports:
{% for s in f.transits.flagged_ships %}{{ s.name or '(no name)' }} (MMSI {{ s.mmsi }}; {{ s.why | join(', ') }}){% if not loop.last %}; {% endif %}{% endfor %}{% if not f.transits.flagged_ships %}<span class="none">none</span>{% endif %}.</p>
{% for key, title in [('by_passage', 'By passage (transit gate)'), ('by_eez', 'By EEZ (entries)')] %}
<h3>{{ title }}</h3>
{% if f.transits[key] %}<table><tr><th>zone</th><th>state</th><th>transits</th><th>ships (name, MMSI, time)</th></tr>
{% for z in f.transits[key] %}<tr><td>{{ z.name }}</td><td>{{ z.state }}</td><td class="n">{{ z.transits }}</td>
<td>{% for s in z.ships %}{{ s.name or '(no name)' }}, MMSI {{ s.mmsi }}, {{ s.time }}{% if s.initial %} (first seen inside){% endif %}{% if not loop.last %}<br>{% endif %}{% endfor %}</td></tr>{% endfor %}
</table>{% else %}<p class="none">none in this period</p>{% endif %}
{% endfor %}
<figure><img alt="transit map" src="{{ img['transit_map'] }}"></figure>
</section>

<section id="incidents"><h2>3. Going dark and encounters</h2>
<p>{{ f.incidents.going_dark | length }} going-dark alerts, {{ f.incidents.encounters | length }} encounter alerts, {{ f.incidents.timeline_gaps | length }} closed reporting gaps of 2 h or more on the tracks' timelines.</p>
<figure><img alt="density map" src="{{ img['density_map'] }}"></figure>
{% for key, title in [('going_dark', 'Going dark'), ('encounters', 'Encounters')] %}<h3>{{ title }}</h3>
{% if f.incidents[key] %}<table><tr><th>time</th><th>track</th><th>name</th><th>category</th><th>level</th><th>position</th></tr>
{% for r in f.incidents[key] %}<tr><td>{{ r.time }}</td><td>{{ r.track_id }}</td><td>{{ r.name }}</td><td>{{ r.category }}</td><td>{{ r.level }}</td><td>{{ r.lat }}, {{ r.lon }}</td></tr>{% endfor %}</table>
{% else %}<p class="none">none in this period</p>{% endif %}{% endfor %}
</section>

<section id="response"><h2>4. Response indicators</h2>
<p>Time from an alert's start (event time) to the agency's first acknowledgement, over the alerts routed to it.</p>
{% if f.response.agencies %}<table><tr><th>agency</th><th>alerts</th><th>acknowledged</th><th>median</th><th>90th percentile</th><th>never acknowledged</th></tr>
{% for a in f.response.agencies %}<tr><td>{{ a.name }} ({{ a.agency }})</td><td class="n">{{ a.alerts }}</td><td class="n">{{ a.acknowledged }}</td>
<td class="n">{{ dur(a.median_s) }}</td><td class="n">{{ dur(a.p90_s) }}</td><td class="n">{{ a.never_acknowledged }}</td></tr>{% endfor %}</table>
<h3>Alerts never acknowledged</h3>
{% for a in f.response.agencies if a.never %}<p><b>{{ a.agency }}</b>: {% for r in a.never %}{{ r.id }} ({{ r.category }}, {{ r.level }}, {{ r.time }}){% if not loop.last %}; {% endif %}{% endfor %}</p>{% endfor %}
{% else %}<p class="none">no alerts routed in this period</p>{% endif %}
</section>

<section id="gravity"><h2>5. Top tracks by gravity</h2>
{% if f.top_tracks %}<table><tr><th>#</th><th>track</th><th>name</th><th>score</th><th>level</th><th>categories</th><th>reasons</th></tr>
{% for t in f.top_tracks %}<tr><td class="n">{{ loop.index }}</td><td>{{ t.kind }} {{ t.track_id }}</td><td>{{ t.name }}</td><td class="n">{{ t.score }}</td><td>{{ t.level }}</td><td>{{ t.categories | join(', ') }}</td><td>{{ t.reasons | join('; ') }}</td></tr>{% endfor %}</table>
{% else %}<p class="none">no alerts in this period</p>{% endif %}
</section>

<section id="coverage"><h2>6. Data coverage</h2>
<p>The archive holds messages from {{ f.coverage.covered['from'] or '-' }} to {{ f.coverage.covered['to'] or '-' }} in this period ({{ f.coverage.covered.minutes }} minutes). Uptime is the share of those minutes with at least one message from the feed; a coverage gap is a silence of {{ (f.coverage.gap_threshold_s / 60) | int }} minutes or more.</p>
<h3>Messages per day</h3>{{ count_table(f.coverage.messages_per_day, 'day', 'messages') }}
<h3>Feeds</h3>
{% if f.coverage.feeds %}<table><tr><th>feed</th><th>messages</th><th>uptime</th><th>coverage gaps</th></tr>
{% for fd in f.coverage.feeds %}<tr><td>{{ fd.feed }}</td><td class="n">{{ fd.messages }}</td><td class="n">{{ fd.uptime_pct }} %</td>
<td>{% for g in fd.gaps %}{{ g['from'] }} to {{ g['to'] }} ({{ g.minutes }} min){% if not loop.last %}<br>{% endif %}{% else %}none{% endfor %}</td></tr>{% endfor %}</table>
{% else %}<p class="none">no messages in this period</p>{% endif %}
</section>
</body></html>
"""


def _count_table(counts: dict[str, int], label: str, what: str = "alerts") -> str:
    if not counts:
        return '<p class="none">none</p>'
    esc = escape
    rows = "".join(f'<tr><td>{esc(k)}</td><td class="n">{v}</td></tr>' for k, v in counts.items())
    return Markup(f"<table><tr><th>{esc(label)}</th><th>{esc(what)}</th></tr>{rows}</table>")


def _dur(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path
    figures: Path


def images(f: dict[str, Any], inputs: Inputs, basemap: Path) -> dict[str, str]:
    land = charts.load_basemap(basemap)
    gates = [z.geometry for z in inputs.zones if z.kind == ZoneKind.TRANSIT_GATE]
    ships = [
        {**s, "where": where}
        for key, where in (("by_passage", "passage"), ("by_eez", "eez"))
        for z in f["transits"][key]
        for s in z["ships"]
    ]
    a = f["alerts"]
    return {
        "by_category": data_uri(charts.bars(a["by_category"], "Alerts by category")),
        "by_level": data_uri(charts.bars(a["by_level"], "Alerts by level", charts.LEVEL_COLOURS)),
        "by_state": data_uri(charts.bars(a["by_state"], "Alerts by state (XX: international waters)")),
        "transit_map": data_uri(charts.transit_map(land, gates, ships)),
        "density_map": data_uri(
            charts.density_map(land, f["incidents"]["going_dark"], f["incidents"]["encounters"])
        ),
    }


def render_html(f: dict[str, Any], img: dict[str, str]) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(
        f=f, img=img, sections=SECTIONS, count_table=_count_table, dur=_dur
    )


def render_pdf(html: str, out: Path) -> None:
    """HTML to PDF with WeasyPrint; every resource is inline (data: URIs), so nothing is fetched."""
    import logging

    for name in ("weasyprint", "weasyprint.progress", "fontTools"):  # (it logs while importing)
        logging.getLogger(name).setLevel(logging.WARNING)
    import weasyprint
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(out)


def write_report(root: Path, scope: Scope, inputs: Inputs, basemap: Path, out_dir: Path) -> ReportFiles:
    """Compute the figures from the archive at ``root`` and write the three files into ``out_dir``."""
    with History(root) as h:
        f = compute(h, scope, inputs)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out_dir / "report.html", out_dir / "report.pdf", out_dir / "figures.json")
    files.figures.write_bytes(dumps(f))
    html = render_html(f, images(f, inputs, basemap))
    files.html.write_text(html, encoding="utf-8")
    render_pdf(html, files.pdf)
    return files
