"""Alert routing by jurisdiction, and the Mosquitto users and ACL that enforce it.

The rules live in ``alerting/routing.toml`` (documented in ``alerting/README.md``):

* ``[[agency]]`` - one MQTT user per agency: the states it covers (ISO 3166 alpha-2, ``XX`` for
  international waters), the alert categories it handles (a list or ``"*"``), the lowest level it
  wants, and whether it may read the retained per-track status topics;
* ``[[rule]]`` - extra recipients for (states, categories, minimum level), e.g. every critical alert
  of the region to the regional desk;
* ``desk`` - the regional desk, which must receive every alert of state ``XX``.

Every agency's coverage and every rule naming it become :class:`Grant` s. :meth:`Router.route` and the
generated ACL are both computed from the same grants, so what the routing says an agency receives is
exactly what the broker lets it read: the level is the last level of the alert topic
(``{prefix}/alerts/{state}/{category}/{level}``), so a minimum level is one ACL line per allowed level.
"""

from __future__ import annotations

import difflib
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mdacentre.model.errors import ConfigError, DeliveryError
from mdacentre.model.findings import Level
from mdacentre.model.rejects import Reject
from mdacentre.runtime.metrics import Metrics

ANY = "*"
SERVICE_USER = "mdacentre"
DEFAULT_PREFIX = "mdacentre/v1"
INTERNATIONAL = "XX"

AGENCY_ID = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
STATE = re.compile(r"^[A-Z]{2}$")
CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
PREFIX = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")

TOP_KEYS = frozenset({"version", "topic_prefix", "desk", "categories", "agency", "rule"})
AGENCY_REQUIRED = frozenset({"id", "name", "states", "categories", "min_level"})
AGENCY_KEYS = AGENCY_REQUIRED | {"tracks", "contact"}
RULE_REQUIRED = frozenset({"name", "states", "categories", "min_level", "to"})
RULE_KEYS = RULE_REQUIRED

PASSWD_EXE = "/usr/bin/mosquitto_passwd"


# -- model ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    states: tuple[str, ...]
    categories: tuple[str, ...] | None  # None: every category ("*")
    min_level: Level
    tracks: bool = False  # may read {prefix}/tracks/# (retained per-track status of the whole region)
    contact: str = ""


@dataclass(frozen=True)
class Rule:
    name: str
    states: tuple[str, ...] | None  # None: every state ("*")
    categories: tuple[str, ...] | None
    min_level: Level
    to: tuple[str, ...]


@dataclass(frozen=True)
class Grant:
    """One agency may receive alerts of ``state`` x ``category`` at ``min_level`` or above (None = any)."""

    agency: str
    state: str | None
    category: str | None
    min_level: Level

    def matches(self, state: str, category: str, level: Level) -> bool:
        return (
            (self.state is None or self.state == state)
            and (self.category is None or self.category == category)
            and level >= self.min_level
        )

    def read_topics(self, prefix: str) -> list[str]:
        """ACL read patterns: one per allowed level (a single ``+`` when every level is allowed)."""
        base = f"{prefix}/alerts/{self.state or '+'}/{self.category or '+'}"
        if self.min_level == Level.INFO:
            return [f"{base}/+"]
        return [f"{base}/{lv.label}" for lv in Level if lv >= self.min_level]


class Router:
    """Who receives an alert: the agencies of its state that handle its category and level, plus rules."""

    def __init__(
        self,
        agencies: Mapping[str, Agency],
        rules: Iterable[Rule],
        desk: str,
        prefix: str = DEFAULT_PREFIX,
        categories: Iterable[str] = (),
    ) -> None:
        self.agencies = dict(agencies)
        self.rules = tuple(rules)
        self.desk = desk
        self.prefix = prefix
        self.categories = tuple(categories)
        self.grants = _grants(self.agencies.values(), self.rules)

    def route_to(self, state: str, category: str, level: Level) -> list[str]:
        """Agency ids (sorted) that receive an alert of this state, category and level."""
        return sorted({g.agency for g in self.grants if g.matches(state, category, level)})

    def route(self, alert_json: Mapping[str, Any]) -> list[str]:
        """Agency ids (sorted) that receive this alert payload (:meth:`mdacentre.alerting.alerts.Alert.to_json`).

        Raises :class:`DeliveryError` when the payload lacks a valid ``state``, ``category`` or ``level``.
        """
        state, category, level = _alert_keys(alert_json)
        return self.route_to(state, category, level)

    def route_many(
        self, alerts: Iterable[Mapping[str, Any]], metrics: Metrics | None = None
    ) -> list[list[str]]:
        """Stream form of :meth:`route`: a malformed payload gets ``[]`` and is counted, never raised.

        Counted as ``mda_rejects_total{feed="routing",reason="bad_value"}``; alerts that reach no agency
        as ``mda_alerts_unrouted_total{state,category}`` (they are still published on their topic).
        """
        out: list[list[str]] = []
        bad = 0
        for a in alerts:
            try:
                state, category, level = _alert_keys(a)
            except DeliveryError:
                bad += 1
                out.append([])
                continue
            who = self.route_to(state, category, level)
            if not who and metrics is not None:
                metrics.inc("mda_alerts_unrouted_total", labels={"state": state, "category": category})
            out.append(who)
        if bad and metrics is not None:
            metrics.add_rejects({Reject.BAD_VALUE.value: bad}, "routing")
        return out

    def may_read_tracks(self, agency_id: str) -> bool:
        return self.agency(agency_id).tracks

    def agency(self, agency_id: str) -> Agency:
        try:
            return self.agencies[agency_id]
        except KeyError:
            raise ConfigError(f"unknown agency {agency_id!r}; known: {sorted(self.agencies)}") from None

    def ack_topic(self, agency_id: str) -> str:
        return f"{self.prefix}/ack/{self.agency(agency_id).id}"

    def read_topics(self, agency_id: str) -> list[str]:
        """Every topic pattern the agency may read (what its ACL grants), in a stable order."""
        agency = self.agency(agency_id)
        topics: list[str] = []
        for g in self.grants:
            if g.agency == agency.id:
                topics += [t for t in g.read_topics(self.prefix) if t not in topics]
        if agency.tracks:
            topics.append(f"{self.prefix}/tracks/#")
        topics.append(f"{self.prefix}/service/health")
        return topics


def _grants(agencies: Iterable[Agency], rules: Iterable[Rule]) -> tuple[Grant, ...]:
    out: list[Grant] = []
    for a in agencies:
        for s in a.states:
            for c in a.categories or (None,):
                out.append(Grant(a.id, s, c, a.min_level))
    for r in rules:
        for who in r.to:
            for rs in r.states or (None,):
                for rc in r.categories or (None,):
                    out.append(Grant(who, rs, rc, r.min_level))
    return tuple(dict.fromkeys(out))


def _alert_keys(alert: Mapping[str, Any]) -> tuple[str, str, Level]:
    if not isinstance(alert, Mapping):
        raise DeliveryError(f"an alert payload must be a JSON object, got {type(alert).__name__}")
    state, category, level = alert.get("state"), alert.get("category"), alert.get("level")
    if not isinstance(state, str) or not STATE.match(state):
        raise DeliveryError(
            f"alert {alert.get('id')!r}: 'state' must be an ISO alpha-2 code or XX, got {state!r}"
        )
    if not isinstance(category, str) or not CATEGORY.match(category):
        raise DeliveryError(
            f"alert {alert.get('id')!r}: 'category' must be a snake_case name, got {category!r}"
        )
    try:
        lv = Level[str(level).upper()]
    except KeyError:
        raise DeliveryError(
            f"alert {alert.get('id')!r}: 'level' must be one of {[x.label for x in Level]}, got {level!r}"
        ) from None
    return state, category, lv


# -- loading and validation ---------------------------------------------------------------------


def load_rules(path: Path) -> Router:
    """Read and validate a routing TOML file; every problem is a :class:`ConfigError` naming the fix."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read routing rules {path}: {exc.strerror}; pass --rules with an existing file"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_rules(data, str(path))


def parse_rules(data: Mapping[str, Any], source: str = "routing rules") -> Router:
    _no_unknown(data, TOP_KEYS, source)
    version = data.get("version", 1)
    if version != 1:
        raise ConfigError(
            f"{source}: version = {version!r} is not supported; this mdacentre reads version = 1"
        )
    prefix = _prefix(data.get("topic_prefix", DEFAULT_PREFIX), source)
    known = _known_categories(data.get("categories"), source)
    agencies = _agencies(data.get("agency"), known, source)
    rules = _rules(data.get("rule", []), known, agencies, source)
    desk = _desk(data.get("desk"), agencies, source)
    return Router(agencies, rules, desk, prefix, known or ())


def _no_unknown(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            hint = difflib.get_close_matches(key, sorted(allowed), n=1)
            also = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(f"{where}: unknown key {key!r}{also}; allowed keys: {sorted(allowed)}")


def _missing(table: Mapping[str, Any], required: frozenset[str], where: str) -> None:
    missing = sorted(required - set(table))
    if missing:
        raise ConfigError(f"{where}: missing {missing}; every entry needs {sorted(required)}")


def _prefix(value: Any, source: str) -> str:
    if not isinstance(value, str) or not PREFIX.match(value):
        raise ConfigError(
            f"{source}: topic_prefix {value!r} must be topic levels of letters, digits, '_' or '-' joined by '/' "
            "(no wildcards, no leading or trailing '/'), e.g. 'mdacentre/v1'"
        )
    return value


def _known_categories(value: Any, source: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(
            f"{source}: 'categories' must be a non-empty list of category names, or be left out"
        )
    for c in value:
        _check_category(c, f"{source}: categories")
    dup = sorted({c for c in value if value.count(c) > 1})
    if dup:
        raise ConfigError(f"{source}: categories listed twice: {dup}")
    return tuple(value)


def _check_category(c: Any, where: str) -> str:
    if not isinstance(c, str) or not CATEGORY.match(c):
        raise ConfigError(
            f"{where}: category {c!r} must be snake_case (a-z, 0-9, '_', starting with a letter)"
        )
    return c


def _category_list(value: Any, known: tuple[str, ...] | None, where: str) -> tuple[str, ...] | None:
    if value == ANY:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(
            f"{where}: 'categories' must be \"*\" or a non-empty list of categories, got {value!r}"
        )
    for c in value:
        _check_category(c, where)
        if known is not None and c not in known:
            hint = difflib.get_close_matches(c, known, n=1)
            also = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(
                f"{where}: unknown category {c!r}{also}; add it to the top-level 'categories' list first"
            )
    return tuple(dict.fromkeys(value))


def _state_list(value: Any, where: str, allow_any: bool) -> tuple[str, ...] | None:
    if allow_any and value == ANY:
        return None
    if not isinstance(value, list) or not value:
        what = '"*" or a non-empty list' if allow_any else "a non-empty list"
        raise ConfigError(
            f"{where}: 'states' must be {what} of ISO 3166 alpha-2 codes (XX: international waters)"
        )
    for s in value:
        if not isinstance(s, str) or not STATE.match(s):
            raise ConfigError(
                f"{where}: state {s!r} is not an upper-case ISO 3166 alpha-2 code such as 'JM' or 'XX'"
            )
    return tuple(dict.fromkeys(value))


def _level(value: Any, where: str) -> Level:
    try:
        return Level.parse(str(value))
    except ConfigError as exc:
        raise ConfigError(f"{where}: min_level: {exc}") from None


def _agencies(value: Any, known: tuple[str, ...] | None, source: str) -> dict[str, Agency]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{source}: no [[agency]] entries; define at least the regional desk")
    out: dict[str, Agency] = {}
    for i, raw in enumerate(value):
        a = _agency(raw, known, f"{source}: agency #{i + 1}")
        if a.id in out:
            raise ConfigError(
                f"{source}: duplicate agency id {a.id!r}; every agency is one MQTT user and needs its own id"
            )
        out[a.id] = a
    return out


def _agency(raw: Any, known: tuple[str, ...] | None, where: str) -> Agency:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table ([[agency]])")
    ident = raw.get("id")
    if isinstance(ident, str):
        where = f"{where} ({ident!r})"
    _no_unknown(raw, AGENCY_KEYS, where)
    _missing(raw, AGENCY_REQUIRED, where)
    if not isinstance(ident, str) or not AGENCY_ID.match(ident):
        raise ConfigError(
            f"{where}: id {ident!r} must be 2-32 characters of a-z, 0-9 and '-', starting with a letter "
            "(it is the MQTT user name and a topic level)"
        )
    if ident == SERVICE_USER:
        raise ConfigError(
            f"{where}: id {SERVICE_USER!r} is reserved for the service's own MQTT user; pick another id"
        )
    for key in ("name", "contact"):
        text = raw.get(key, "")
        if not isinstance(text, str) or any(ord(ch) < 32 for ch in text):
            raise ConfigError(
                f"{where}: {key!r} must be text on one line (it is written into the ACL as a comment)"
            )
    if not raw["name"].strip():
        raise ConfigError(f"{where}: 'name' must be the agency's full name")
    tracks = raw.get("tracks", False)
    if not isinstance(tracks, bool):
        raise ConfigError(f"{where}: 'tracks' must be true or false")
    return Agency(
        id=ident,
        name=raw["name"].strip(),
        states=_state_list(raw["states"], where, allow_any=False) or (),
        categories=_category_list(raw["categories"], known, where),
        min_level=_level(raw["min_level"], where),
        tracks=tracks,
        contact=raw.get("contact", ""),
    )


def _rules(
    value: Any, known: tuple[str, ...] | None, agencies: Mapping[str, Agency], source: str
) -> list[Rule]:
    if not isinstance(value, list):
        raise ConfigError(f"{source}: 'rule' must be an array of tables ([[rule]])")
    out: list[Rule] = []
    for i, raw in enumerate(value):
        where = f"{source}: rule #{i + 1}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be a table ([[rule]])")
        if isinstance(raw.get("name"), str):
            where = f"{where} ({raw['name']!r})"
        _no_unknown(raw, RULE_KEYS, where)
        _missing(raw, RULE_REQUIRED, where)
        to = raw["to"]
        if not isinstance(to, list) or not to:
            raise ConfigError(f"{where}: 'to' must be a non-empty list of agency ids")
        for who in to:
            if who not in agencies:
                hint = difflib.get_close_matches(str(who), sorted(agencies), n=1)
                also = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ConfigError(
                    f"{where}: 'to' names unknown agency {who!r}{also}; define it as an [[agency]]"
                )
        out.append(
            Rule(
                name=str(raw["name"]),
                states=_state_list(raw["states"], where, allow_any=True),
                categories=_category_list(raw["categories"], known, where),
                min_level=_level(raw["min_level"], where),
                to=tuple(dict.fromkeys(to)),
            )
        )
    return out


def _desk(value: Any, agencies: Mapping[str, Agency], source: str) -> str:
    if not isinstance(value, str) or value not in agencies:
        raise ConfigError(
            f"{source}: 'desk' must name the [[agency]] of the regional desk (got {value!r}); "
            f"it receives every alert of international waters ({INTERNATIONAL})"
        )
    d = agencies[value]
    if INTERNATIONAL not in d.states or d.categories is not None or d.min_level != Level.INFO:
        raise ConfigError(
            f"{source}: the regional desk {value!r} must receive every international-waters alert: "
            f'give it states including "{INTERNATIONAL}", categories = "*" and min_level = "info"'
        )
    return value


# -- Mosquitto configuration -----------------------------------------------------------------


@dataclass(frozen=True)
class TlsOptions:
    """A TLS listener for agencies off this machine (the plain listener stays on the loopback address)."""

    cafile: Path
    certfile: Path
    keyfile: Path
    port: int = 8883
    bind: str = "0.0.0.0"
    require_certificate: bool = False  # True: clients also present a certificate signed by cafile
    tls_version: str = "tlsv1.2"  # minimum version (Mosquitto >= 2.0)

    def check(self) -> None:
        for name in ("cafile", "certfile", "keyfile"):
            p = Path(getattr(self, name))
            if not p.is_file():
                raise ConfigError(
                    f"TLS {name} {p} does not exist; give the PEM file of the CA, server certificate and key"
                )
        if self.tls_version not in ("tlsv1.3", "tlsv1.2"):
            raise ConfigError(f"TLS minimum version {self.tls_version!r}: use 'tlsv1.2' or 'tlsv1.3'")
        if not 0 < self.port < 65536:
            raise ConfigError(f"TLS port {self.port} is not a TCP port number")


def write_broker_config(
    rules_path: Path,
    out_dir: Path,
    port: int = 1883,
    tls: TlsOptions | None = None,
    *,
    host: str = "127.0.0.1",
    run_as: str | None = None,
    rotate: bool = False,
    passwd_exe: str | None = None,
) -> dict[str, Any]:
    """Write ``mosquitto.conf``, ``passwd``, ``acl`` and ``credentials/<user>.txt`` into ``out_dir``.

    One MQTT user per agency plus the service user ``mdacentre``. Existing passwords in
    ``credentials/`` are kept unless ``rotate`` is true, so regenerating after a rules change does
    not lock agencies out. ``run_as`` is the system user Mosquitto runs as when started by root
    (default: the user running this, so the embedded broker can read its files); when it differs, the
    broker's files are handed to that user. Returns the paths written and each user's topics.
    """
    router = load_rules(Path(rules_path))
    if not 0 < port < 65536:
        raise ConfigError(f"port {port} is not a TCP port number")
    if tls is not None:
        tls.check()
    out = Path(out_dir).resolve()
    exe = _passwd_exe(passwd_exe)
    user = _run_as(run_as)
    creds_dir = out / "credentials"
    data_dir = out / "data"
    for d in (out, creds_dir, data_dir):
        d.mkdir(parents=True, exist_ok=True)
    for d in (out, creds_dir, data_dir):
        os.chmod(d, 0o700)
    _write(out / ".gitignore", "# generated broker secrets: never commit\n*\n", 0o644)

    users = [SERVICE_USER, *router.agencies]
    passwords = {u: _password(creds_dir / f"{u}.txt", rotate) for u in users}
    cred_paths = {
        u: str(_write_credentials(creds_dir, router, u, passwords[u], host, port, tls)) for u in users
    }
    passwd = _write_passwd(out / "passwd", passwords, exe)
    acl = _write(out / "acl", acl_text(router), 0o600)
    conf = _write(out / "mosquitto.conf", conf_text(out, port, host, tls, user, str(rules_path)), 0o600)
    if user != pwd.getpwuid(os.geteuid()).pw_name:
        _hand_over([out, data_dir, passwd, acl, conf], user)
    return {
        "conf": str(conf),
        "passwd": str(passwd),
        "acl": str(acl),
        "credentials": cred_paths,
        "listener": f"{host}:{port}",
        "tls_listener": f"{tls.bind}:{tls.port}" if tls else None,
        "run_as": user,
        "users": {u: {"read": _reads(router, u), "write": _writes(router, u)} for u in users},
    }


def security_config(out_dir: Path) -> str:
    """The authentication lines of a generated configuration, for :class:`mdacentre.sinks.broker.Mosquitto` ``config=``."""
    out = Path(out_dir).resolve()
    return f"allow_anonymous false\npassword_file {out / 'passwd'}\nacl_file {out / 'acl'}\n"


def acl_text(router: Router) -> str:
    lines = [
        "# Mosquitto ACL generated by `mdacentre broker-config` from the routing rules. Do not edit: regenerate.",
        "# Nothing is granted to anonymous clients (allow_anonymous false).",
        "",
        f"user {SERVICE_USER}",
        *[f"topic {t}" for t in _acl_lines(router, SERVICE_USER)],
    ]
    for aid, agency in router.agencies.items():
        lines += ["", f"# {agency.name}", f"user {aid}", *[f"topic {t}" for t in _acl_lines(router, aid)]]
    return "\n".join(lines) + "\n"


def _acl_lines(router: Router, user: str) -> list[str]:
    if user == SERVICE_USER:
        # The service publishes everything under the prefix and reads it back: acknowledgements
        # (ack/#) and its own retained track statuses at start-up.
        return [f"readwrite {router.prefix}/#"]
    return [f"read {t}" for t in router.read_topics(user)] + [f"write {router.ack_topic(user)}"]


def _reads(router: Router, user: str) -> list[str]:
    return [f"{router.prefix}/#"] if user == SERVICE_USER else router.read_topics(user)


def _writes(router: Router, user: str) -> list[str]:
    return [f"{router.prefix}/#"] if user == SERVICE_USER else [router.ack_topic(user)]


def conf_text(out: Path, port: int, host: str, tls: TlsOptions | None, user: str, rules: str) -> str:
    lines = [
        f"# Mosquitto configuration generated by `mdacentre broker-config` from {rules}.",
        "# Do not edit: regenerate. Start with: mosquitto -c <this file>",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {out / 'passwd'}",
        f"acl_file {out / 'acl'}",
        "persistence true",
        f"persistence_location {out / 'data'}/",
        "autosave_interval 60",
        "max_queued_messages 10000",  # per persistent session: an agency offline for a while misses nothing
        f"user {user}",
        "",
        "# Local listener: the service and tools on this machine.",
        f"listener {port} {host}",
    ]
    if tls is not None:
        lines += [
            "",
            "# TLS listener for agencies on other networks.",
            f"listener {tls.port} {tls.bind}",
            f"cafile {Path(tls.cafile).resolve()}",
            f"certfile {Path(tls.certfile).resolve()}",
            f"keyfile {Path(tls.keyfile).resolve()}",
            f"require_certificate {'true' if tls.require_certificate else 'false'}",
            f"tls_version {tls.tls_version}",
        ]
    return "\n".join(lines) + "\n"


def _passwd_exe(given: str | None) -> str:
    exe = given or shutil.which("mosquitto_passwd") or PASSWD_EXE
    if not Path(exe).is_file():
        raise ConfigError(
            f"{exe} not found: install the Debian package mosquitto (apt-get install mosquitto), "
            "which provides mosquitto_passwd"
        )
    return exe


def _run_as(run_as: str | None) -> str:
    me = pwd.getpwuid(os.geteuid()).pw_name
    if run_as is None or run_as == me:
        return me
    try:
        pwd.getpwnam(run_as)
    except KeyError:
        raise ConfigError(
            f"run_as: there is no system user {run_as!r}; create it or leave run_as unset"
        ) from None
    if os.geteuid() != 0:
        raise ConfigError(
            f"run_as={run_as!r}: only root can hand the broker's files to another user; run as root"
        )
    return run_as


def _hand_over(paths: list[Path], user: str) -> None:
    pw = pwd.getpwnam(user)
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)


def _write(path: Path, text: str, mode: int) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, mode)
    return path


def _password(cred_file: Path, rotate: bool) -> str:
    if not rotate and cred_file.is_file():
        try:
            old = tomllib.loads(cred_file.read_text(encoding="utf-8")).get("password")
        except (OSError, tomllib.TOMLDecodeError):
            old = None
        if isinstance(old, str) and len(old) >= 16 and ":" not in old:
            return old
    return secrets.token_urlsafe(24)


def _write_credentials(
    creds_dir: Path, router: Router, user: str, password: str, host: str, port: int, tls: TlsOptions | None
) -> Path:
    if user == SERVICE_USER:
        title = "the mdacentre service (MDA_MQTT_USERNAME / MDA_MQTT_PASSWORD)"
    else:
        title = f"agency {user!r} ({router.agencies[user].name})"
    lines = [
        f"# MQTT credentials of {title}.",
        "# Generated by `mdacentre broker-config`. Secret: hand over out of band, never commit, never e-mail.",
        f'username = "{user}"',
        f'password = "{password}"',
        f'host = "{host}"',
        f"port = {port}",
    ]
    if tls is not None:
        lines += [f"tls_port = {tls.port}"]
    lines += [
        "read = [" + ", ".join(f'"{t}"' for t in _reads(router, user)) + "]",
        "write = [" + ", ".join(f'"{t}"' for t in _writes(router, user)) + "]",
    ]
    return _write(creds_dir / f"{user}.txt", "\n".join(lines) + "\n", 0o600)


def _write_passwd(path: Path, passwords: Mapping[str, str], exe: str) -> Path:
    """Plain ``user:password`` lines hashed in place by ``mosquitto_passwd -U`` (no secret on a command line)."""
    tmp = path.with_name(path.name + ".new")
    _write(tmp, "".join(f"{u}:{p}\n" for u, p in passwords.items()), 0o600)
    try:
        res = subprocess.run([exe, "-U", str(tmp)], check=False, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"{exe} -U failed: {exc}; check the mosquitto package installation") from None
    if res.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"{exe} -U failed ({res.returncode}): {(res.stderr or res.stdout).strip()}")
    hashed = tmp.read_text(encoding="utf-8").splitlines()
    if len(hashed) != len(passwords) or not all(line.partition(":")[2].startswith("$") for line in hashed):
        tmp.unlink(missing_ok=True)
        raise ConfigError(
            f"{exe} -U did not hash {tmp}; check the mosquitto version (2.0 or later is needed)"
        )
    os.replace(tmp, path)
    os.chmod(path, 0o600)
    return path
