"""Routing by jurisdiction (alerting/routing.toml), rule validation, and the JSON Schemas of the MQTT payloads."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import position, static

from mdacentre.alerting.acks import CommandError, parse_mqtt_command
from mdacentre.alerting.alerts import Alert, AlertStatus, alert_id
from mdacentre.alerting.routing import Router, load_rules
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.sources import Chunk
from mdacentre.model.errors import ConfigError, DeliveryError
from mdacentre.model.findings import Level, TrackRef, ZoneRef
from mdacentre.runtime.metrics import Metrics

REPO = Path(__file__).resolve().parent.parent
ALERTING = REPO / "alerting"
T0 = 1_768_435_200.0  # 2026-01-15T00:00:00Z


def schema(name: str) -> jsonschema.Draft202012Validator:
    doc = json.loads((ALERTING / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(doc)
    return jsonschema.Draft202012Validator(doc, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def make_alert(
    state: str | None,
    category: str,
    level: Level,
    *,
    mmsi: int = 306123000,
    ack: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Alert:
    """A real :class:`Alert`; ``state`` None means international waters (no zone)."""
    zone = ZoneRef(f"{state.lower()}_territorial_sea", f"{state} territorial sea", state) if state else None
    key = (1 << 32) | mmsi
    return Alert(
        id=alert_id(category, key, zone.id if zone else "", T0),
        version=1,
        status=AlertStatus.OPEN,
        category=category,
        level=level,
        score=float(20 * int(level)),
        time=T0 + 60.5,
        started=T0,
        track_key=key,
        track=TrackRef("vessel", str(mmsi), "SEA TEST", 17.9, -76.8, 11.2, 254.0, flag="CW", ship_type=81),
        zone=zone,
        reasons=(f"{category} near {state or 'international waters'}",),
        ack=ack,
        extra=extra or {},
    )


@pytest.fixture(scope="module")
def router() -> Router:
    return load_rules(ALERTING / "routing.toml")


# -- routing decisions (the shipped rules) -----------------------------------------------------


def test_jamaican_zone_goes_to_jamaican_agencies_that_handle_it(router: Router) -> None:
    a = make_alert("JM", "hazardous_cargo", Level.MEDIUM).to_json()
    assert router.route(a) == ["jdf-cg", "jm-customs"]
    # Aviation authority handles emergency squawks only; coast guard wants 'low' and above.
    assert router.route(make_alert("JM", "squawk_emergency", Level.INFO).to_json()) == ["jm-jcaa"]
    assert router.route(make_alert("JM", "squawk_emergency", Level.HIGH).to_json()) == ["jdf-cg", "jm-jcaa"]


def test_international_waters_go_to_the_regional_desk(router: Router) -> None:
    a = make_alert(None, "loitering", Level.INFO).to_json()
    assert a["state"] == "XX" and a["zone"] is None
    assert router.route(a) == ["rsc-desk"]
    # The transit rule adds the coast guards for hazardous cargo at high and above only.
    assert router.route(make_alert(None, "hazardous_cargo", Level.MEDIUM).to_json()) == ["rsc-desk"]
    assert router.route(make_alert(None, "hazardous_cargo", Level.HIGH).to_json()) == [
        "bb-cg",
        "do-navy",
        "jdf-cg",
        "rsc-desk",
        "tt-cg",
    ]


def test_category_not_handled_is_not_routed(router: Router) -> None:
    # Customs do not handle position jumps; the coast guard does.
    assert router.route(make_alert("JM", "position_jump", Level.HIGH).to_json()) == ["jdf-cg"]
    assert "jm-customs" not in router.route(make_alert("JM", "squawk_emergency", Level.CRITICAL).to_json())


def test_level_below_minimum_is_not_routed(router: Router) -> None:
    assert router.route(make_alert("TT", "loitering", Level.INFO).to_json()) == []
    assert router.route(make_alert("TT", "loitering", Level.LOW).to_json()) == ["tt-cg"]
    # RSS takes medium and above in its member states; Barbados coast guard takes low too.
    assert router.route(make_alert("BB", "encounter", Level.LOW).to_json()) == ["bb-cg"]
    assert router.route(make_alert("BB", "encounter", Level.MEDIUM).to_json()) == ["bb-cg", "rss-hq"]


def test_critical_rule_reaches_the_desk_from_any_state(router: Router) -> None:
    assert router.route(make_alert("VC", "ais_gap", Level.HIGH).to_json()) == ["rss-hq"]
    assert router.route(make_alert("VC", "ais_gap", Level.CRITICAL).to_json()) == ["rsc-desk", "rss-hq"]
    # A state with no agency at all still reaches the desk when critical, nobody below that.
    assert router.route(make_alert("HT", "encounter", Level.CRITICAL).to_json()) == ["rsc-desk"]
    assert router.route(make_alert("HT", "encounter", Level.HIGH).to_json()) == []


def test_malformed_alert_raises_on_single_call_and_is_counted_on_the_stream(router: Router) -> None:
    good = make_alert("JM", "position_jump", Level.HIGH).to_json()
    bad_level = dict(good, level="severe")
    with pytest.raises(DeliveryError, match="'level' must be one of"):
        router.route(bad_level)
    with pytest.raises(DeliveryError, match="'state'"):
        router.route(dict(good, state="jm"))
    with pytest.raises(DeliveryError, match="'category'"):
        router.route({k: v for k, v in good.items() if k != "category"})
    m = Metrics()
    unrouted = make_alert("TT", "loitering", Level.INFO).to_json()
    out = router.route_many([good, bad_level, unrouted, "not a dict"], m)  # type: ignore[list-item]
    assert out == [["jdf-cg"], [], [], []]
    assert m.get("mda_rejects_total", {"feed": "routing", "reason": "bad_value"}) == 2
    assert m.get("mda_alerts_unrouted_total", {"state": "TT", "category": "loitering"}) == 1


def test_profile_categories_are_known_to_the_routing(router: Router) -> None:
    profiles = tomllib.loads((REPO / "geofences" / "profiles.toml").read_text(encoding="utf-8"))
    cats = {p["category"] for p in profiles.get("profile", [])}
    assert cats, "geofences/profiles.toml defines no profile"
    assert cats <= set(router.categories), (
        f"add {sorted(cats - set(router.categories))} to alerting/routing.toml"
    )


# -- validation of the rules file --------------------------------------------------------------

BASE = """
version = 1
desk = "desk"
categories = ["hazardous_cargo", "loitering"]

[[agency]]
id = "desk"
name = "Regional desk"
states = ["XX"]
categories = "*"
min_level = "info"
"""

JM = """
[[agency]]
id = "jm-cg"
name = "JM coast guard"
states = ["JM"]
categories = ["hazardous_cargo"]
min_level = "medium"
"""


def load_text(tmp_path: Path, text: str) -> Router:
    p = tmp_path / "routing.toml"
    p.write_text(text, encoding="utf-8")
    return load_rules(p)


def test_minimal_rules_route_by_category_and_level(tmp_path: Path) -> None:
    r = load_text(tmp_path, BASE + JM)
    assert r.route(make_alert("JM", "hazardous_cargo", Level.MEDIUM).to_json()) == ["jm-cg"]
    assert r.route(make_alert("JM", "hazardous_cargo", Level.LOW).to_json()) == []
    assert r.route(make_alert("JM", "loitering", Level.CRITICAL).to_json()) == []
    assert r.route(make_alert(None, "loitering", Level.INFO).to_json()) == ["desk"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BASE + JM.replace('"medium"', '"severe"'),
            r"agency #2 \('jm-cg'\): min_level: unknown level 'severe'",
        ),
        (BASE + JM.replace('["JM"]', "[]"), r"'jm-cg'.*'states' must be a non-empty list"),
        (BASE + JM.replace('["JM"]', '["jm"]'), r"state 'jm' is not an upper-case ISO 3166 alpha-2 code"),
        (BASE + JM + JM, r"duplicate agency id 'jm-cg'"),
        (
            BASE + JM.replace("min_level", "minimum_level"),
            r"unknown key 'minimum_level' \(did you mean 'min_level'\?\)",
        ),
        (BASE + "colour = 'red'\n", r"unknown key 'colour'"),
        (BASE.replace('desk = "desk"', 'desk = "desk"\ntopic_prefx = "x"'), r"unknown key 'topic_prefx'"),
        (BASE + JM.replace('["hazardous_cargo"]', '["hazardous_crgo"]'), r"did you mean 'hazardous_cargo'"),
        (BASE + JM.replace('id = "jm-cg"', 'id = "mdacentre"'), r"reserved for the service"),
        (BASE + JM.replace('id = "jm-cg"', 'id = "JM CG"'), r"id 'JM CG' must be"),
        (BASE + JM.replace('name = "JM coast guard"\n', ""), r"missing \['name'\]"),
        (BASE.replace('min_level = "info"', 'min_level = "low"'), r"regional desk 'desk' must receive every"),
        (BASE.replace('desk = "desk"', 'desk = "nobody"'), r"'desk' must name the \[\[agency\]\]"),
        (
            BASE
            + '[[rule]]\nname = "r"\nstates = "*"\ncategories = "*"\nmin_level = "high"\nto = ["jm-cgg"]\n'
            + JM,
            r"unknown agency 'jm-cgg' \(did you mean 'jm-cg'\?\)",
        ),
        (
            BASE
            + '[[rule]]\nname = "r"\nstates = "*"\ncategories = "*"\nmin_level = "high"\nto = ["desk"]\nwhen = 1\n',
            r"rule #1 \('r'\): unknown key 'when'",
        ),
        (BASE.replace("version = 1", "version = 2"), r"version = 2 is not supported"),
        (
            BASE.replace('name = "Regional desk"', 'name = "Desk\\nuser x"'),
            r"'name' must be text on one line",
        ),
        (BASE.replace('desk = "desk"', 'desk = "desk"\ntopic_prefix = "a/#"'), r"topic_prefix 'a/#'"),
        ('version = 1\ndesk = "desk"\n', r"no \[\[agency\]\] entries"),
        ("version = 1\n[[agency]\n", r"not valid TOML"),
    ],
)
def test_invalid_rules_are_refused_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_text(tmp_path, text)


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read routing rules .*existing file"):
        load_rules(tmp_path / "nope.toml")


# -- payload schemas ---------------------------------------------------------------------------


def test_alert_payloads_built_by_mdacentre_match_the_schema() -> None:
    v = schema("alert.schema.json")
    samples = [
        make_alert("JM", "hazardous_cargo", Level.HIGH).to_json(),
        make_alert(None, "loitering", Level.INFO, extra={"profile": "x", "gap_s": 3600}).to_json(),
        make_alert(
            "TT",
            "encounter",
            Level.CRITICAL,
            ack={"by": "tt-cg/Lt Ramdeen", "at": "2026-01-15T00:05:00Z", "note": "CG 6 tasked"},
        ).to_json(),
    ]
    for s in samples:
        errors = [e.message for e in v.iter_errors(s)]
        assert errors == [], errors


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"level": "severe"}, "level"),
        ({"state": "jm"}, "state"),
        ({"score": 150.0}, "score"),
        ({"id": "not-an-id"}, "id"),
        ({"time": "2026-01-15 00:00:00"}, "time"),
        ({"status": "pending"}, "status"),
        ({"zone": None}, "state"),  # no zone means international waters: state must be XX
        ({"colour": "red"}, ""),  # unknown top-level key
        ({"ack": {"note": "no by"}}, "ack"),
    ],
)
def test_bad_alert_payloads_fail_the_schema(change: dict[str, Any], where: str) -> None:
    v = schema("alert.schema.json")
    good = make_alert("JM", "hazardous_cargo", Level.HIGH).to_json()
    assert v.is_valid(good)
    bad = dict(good, **change)
    errors = list(v.iter_errors(bad))
    assert errors, f"{change} should be refused"
    assert any(where in "/".join(map(str, e.absolute_path)) or where == "" for e in errors)


def test_track_without_kind_fails_the_schema() -> None:
    v = schema("alert.schema.json")
    good = make_alert("JM", "hazardous_cargo", Level.HIGH).to_json()
    bad = dict(good, track={k: x for k, x in good["track"].items() if k != "kind"})
    assert not v.is_valid(bad)
    assert not v.is_valid(dict(good, track=dict(good["track"], lat=95.0)))


def test_ack_schema_agrees_with_the_service_parser() -> None:
    v = schema("ack.schema.json")
    aid = make_alert("JM", "hazardous_cargo", Level.HIGH).id
    good = {"id": aid, "by": "Lt Brown", "note": "JDF CG 31 tasked", "action": "acknowledge"}
    assert v.is_valid(good) and v.is_valid({"id": aid, "by": "Lt Brown"})
    cmd = parse_mqtt_command("mdacentre/v1/ack/jdf-cg", json.dumps(good).encode(), "mdacentre/v1")
    assert (cmd.alert_id, cmd.by, cmd.action.value) == (aid, "jdf-cg/Lt Brown", "acknowledge")
    for bad in ({"id": "123", "by": "x"}, {"id": aid, "by": ""}, {"id": aid, "by": "x", "action": "delete"}):
        assert not v.is_valid(bad), bad
        with pytest.raises(CommandError):
            parse_mqtt_command("mdacentre/v1/ack/jdf-cg", json.dumps(bad).encode(), "mdacentre/v1")
    assert not v.is_valid({"by": "x"}) and not v.is_valid(dict(good, extra=1))


def test_alert_and_track_status_from_the_real_pipeline_match_the_schemas(repo: Path) -> None:
    """A hazardous-cargo tanker through the real service core: its alert and retained status validate."""
    from mdacentre.runtime.settings import load_settings
    from mdacentre.service.core import Core

    mmsi = 538001234
    lines = static(mmsi, "NORDIC HAZARD", 81, T0 - 30)
    for i in range(12):
        lines += position(mmsi, 15.05, -60.0 - 0.1 * i, T0 + 60 * i, sog=14.0)
    core = Core(
        load_settings(None),
        [FeedSpec(name="t", kind=FeedKind.AIS, transport=Transport.FILE, path="-")],
        Metrics(),
    )
    res = core.step(core.decode([Chunk(0, ("\r\n".join(lines) + "\r\n").encode(), T0)]))
    alerts = [a.to_json() for a in res.alerts]
    cats = {a["category"] for a in alerts}
    assert "hazardous_cargo" in cats
    assert cats <= set(load_rules(ALERTING / "routing.toml").categories), (
        "routing.toml lacks a detector category"
    )
    va, vt = schema("alert.schema.json"), schema("track_status.schema.json")
    for a in alerts:
        assert [e.message for e in va.iter_errors(a)] == []
    msgs = core.status_messages("mdacentre/v1", {a.track_key for a in res.alerts}, 1)
    assert [m[0] for m in msgs] == [f"mdacentre/v1/tracks/vessel/{mmsi}/status"]
    status = json.loads(msgs[0][1])
    assert [e.message for e in vt.iter_errors(status)] == []
    hazard = [a for a in alerts if a["category"] == "hazardous_cargo"][0]
    assert hazard["id"] in status["alerts"]
    # the track's reasons say what each finding contributes
    assert "hazardous_cargo 60: hazardous cargo (X) in transit inside Caribbean Sea" in status["reasons"]
    assert not vt.is_valid(dict(status, level="severe"))
    assert not vt.is_valid(dict(status, alerts=["x"]))
