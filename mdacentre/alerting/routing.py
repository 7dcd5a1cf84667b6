"""Alert routing by jurisdiction: the rules of ``alerting/routing.toml`` and who receives an alert.

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
The broker's users, passwords and ACL are written by :mod:`mdacentre.alerting.broker_config`.

The file is read into :class:`RoutingFile` (pydantic: unknown keys refused, every mistake named
with its entry and key); its JSON Schema is shipped as ``alerting/routing.schema.json``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from mdacentre.alerting.handover import handover_topic
from mdacentre.model.errors import ConfigError, DeliveryError
from mdacentre.model.findings import Level
from mdacentre.model.rejects import Reject
from mdacentre.runtime.config import ConfigModel, Flag, LevelName, read_toml, validate
from mdacentre.runtime.metrics import Metrics

ANY = "*"
SERVICE_USER = "mdacentre"
DEFAULT_PREFIX = "mdacentre/v1"
INTERNATIONAL = "XX"

AGENCY_ID = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
STATE = re.compile(r"^[A-Z]{2}$")
CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
PREFIX = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


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

    def handover_topic(self, agency_id: str) -> str:
        """Where the watch floor's hand-overs to this agency are published (only it may read them)."""
        return handover_topic(self.prefix, self.agency(agency_id).id)

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


# -- the file -----------------------------------------------------------------------------------


def _hint(value: str, choices: Iterable[str]) -> str:
    found = difflib.get_close_matches(value, sorted(choices), n=1)
    return f" (did you mean {found[0]!r}?)" if found else ""


def _one_line(value: str, info: Any) -> str:
    if any(ord(ch) < 32 for ch in value):
        raise ValueError(
            f"{info.field_name!r} must be text on one line (it is written into the ACL as a comment)"
        )
    return value


def _category(value: str) -> str:
    if not CATEGORY.match(value):
        raise ValueError(f"category {value!r} must be snake_case (a-z, 0-9, '_', starting with a letter)")
    return value


def _state(value: str) -> str:
    if not STATE.match(value):
        raise ValueError(f"state {value!r} is not an upper-case ISO 3166 alpha-2 code such as 'JM' or 'XX'")
    return value


Category = Annotated[str, AfterValidator(_category), Field(pattern=CATEGORY.pattern)]
State = Annotated[str, AfterValidator(_state), Field(pattern=STATE.pattern)]
AnyOr = Literal["*"]

STATES_HELP = "ISO 3166 alpha-2 codes (XX: international waters)"


def _states(value: Any, allow_any: bool) -> Any:
    if allow_any and value == ANY:
        return value
    if not isinstance(value, list) or not value:
        what = '"*" or a non-empty list' if allow_any else "a non-empty list"
        raise ValueError(f"'states' must be {what} of {STATES_HELP}")
    return value


def _categories(value: Any) -> Any:
    if value == ANY:
        return value
    if not isinstance(value, list) or not value:
        raise ValueError(f"'categories' must be \"*\" or a non-empty list of categories, got {value!r}")
    return value


class AgencyEntry(ConfigModel):
    """``[[agency]]``: one MQTT user, the states and categories it handles, the lowest level it wants."""

    id: str = Field(pattern=AGENCY_ID.pattern, description="MQTT user name and topic level")
    name: str = Field(description="the agency's full name (a comment in the ACL)")
    states: list[State] = Field(description=STATES_HELP)
    categories: AnyOr | list[Category] = Field(description='"*" or a list of the top-level categories')
    min_level: LevelName
    tracks: Flag = Field(default=False, description="may read the retained per-track status topics")
    contact: str = Field(default="", description="duty desk to call when the agency does not acknowledge")

    _states = field_validator("states", mode="before")(lambda v: _states(v, allow_any=False))
    _categories = field_validator("categories", mode="before")(_categories)
    _one_line = field_validator("name", "contact")(_one_line)

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if not isinstance(value, str) or not AGENCY_ID.match(value):
            raise ValueError(
                f"id {value!r} must be 2-32 characters of a-z, 0-9 and '-', starting with a letter "
                "(it is the MQTT user name and a topic level)"
            )
        if value == SERVICE_USER:
            raise ValueError(
                f"id {SERVICE_USER!r} is reserved for the service's own MQTT user; pick another id"
            )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("'name' must be the agency's full name")
        return value.strip()

    def agency(self) -> Agency:
        return Agency(
            id=self.id,
            name=self.name,
            states=tuple(dict.fromkeys(self.states)),
            categories=None if self.categories == ANY else tuple(dict.fromkeys(self.categories)),
            min_level=self.min_level,
            tracks=self.tracks,
            contact=self.contact,
        )


class RuleEntry(ConfigModel):
    """``[[rule]]``: extra recipients for alerts of these states and categories at this level or above."""

    name: str
    states: AnyOr | list[State] = Field(description=f'"*" or a list of {STATES_HELP}')
    categories: AnyOr | list[Category] = Field(description='"*" or a list of the top-level categories')
    min_level: LevelName
    to: list[str] = Field(min_length=1, description="agency ids")

    _states = field_validator("states", mode="before")(lambda v: _states(v, allow_any=True))
    _categories = field_validator("categories", mode="before")(_categories)

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise ValueError("'to' must be a non-empty list of agency ids")
        return value

    def rule(self) -> Rule:
        return Rule(
            name=self.name,
            states=None if self.states == ANY else tuple(dict.fromkeys(self.states)),
            categories=None if self.categories == ANY else tuple(dict.fromkeys(self.categories)),
            min_level=self.min_level,
            to=tuple(dict.fromkeys(self.to)),
        )


class RoutingFile(ConfigModel):
    """``alerting/routing.toml``: agencies, extra rules and the regional desk (``alerting/README.md``)."""

    version: int = Field(default=1, description="format of this file (1)")
    topic_prefix: str = Field(default=DEFAULT_PREFIX, pattern=PREFIX.pattern, description="MQTT topic prefix")
    desk: str = Field(description="id of the regional desk: it covers XX, every category, from info")
    categories: list[Category] | None = Field(
        default=None,
        min_length=1,
        description="every category an alert can carry; agencies and rules may only name these",
    )
    agency: list[AgencyEntry] = Field(default_factory=list, validate_default=True)
    rule: list[RuleEntry] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != 1:
            raise ValueError(f"version = {value!r} is not supported; this mdacentre reads version = 1")
        return value

    @field_validator("topic_prefix", mode="before")
    @classmethod
    def _prefix(cls, value: Any) -> Any:
        if not isinstance(value, str) or not PREFIX.match(value):
            raise ValueError(
                f"topic_prefix {value!r} must be topic levels of letters, digits, '_' or '-' joined by '/' "
                "(no wildcards, no leading or trailing '/'), e.g. 'mdacentre/v1'"
            )
        return value

    @field_validator("categories", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, list) or not value):
            raise ValueError("'categories' must be a non-empty list of category names, or be left out")
        return value

    @field_validator("agency")
    @classmethod
    def _some_agency(cls, value: list[AgencyEntry]) -> list[AgencyEntry]:
        if not value:
            raise ValueError("no [[agency]] entries; define at least the regional desk")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RoutingFile:
        known = self.categories
        if known is not None:
            dup = sorted({c for c in known if known.count(c) > 1})
            if dup:
                raise ValueError(f"categories listed twice: {dup}")
        ids: set[str] = set()
        for i, a in enumerate(self.agency):
            if a.id in ids:
                raise ValueError(
                    f"duplicate agency id {a.id!r}; every agency is one MQTT user and needs its own id"
                )
            ids.add(a.id)
            self._check_categories(a.categories, f"agency #{i + 1} ({a.id!r})")
        for i, r in enumerate(self.rule):
            where = f"rule #{i + 1} ({r.name!r})"
            self._check_categories(r.categories, where)
            for who in r.to:
                if who not in ids:
                    raise ValueError(
                        f"{where}: 'to' names unknown agency {who!r}{_hint(who, ids)}; define it as an [[agency]]"
                    )
        if self.desk not in ids:
            raise ValueError(
                f"'desk' must name the [[agency]] of the regional desk (got {self.desk!r}); "
                f"it receives every alert of international waters ({INTERNATIONAL})"
            )
        d = next(a for a in self.agency if a.id == self.desk)
        if INTERNATIONAL not in d.states or d.categories != ANY or d.min_level != Level.INFO:
            raise ValueError(
                f"the regional desk {self.desk!r} must receive every international-waters alert: "
                f'give it states including "{INTERNATIONAL}", categories = "*" and min_level = "info"'
            )
        return self

    def _check_categories(self, cats: str | list[str], where: str) -> None:
        if self.categories is None or cats == ANY:
            return
        for c in cats:
            if c not in self.categories:
                raise ValueError(
                    f"{where}: unknown category {c!r}{_hint(c, self.categories)}; "
                    "add it to the top-level 'categories' list first"
                )

    def router(self) -> Router:
        agencies = {a.id: a.agency() for a in self.agency}
        return Router(
            agencies, [r.rule() for r in self.rule], self.desk, self.topic_prefix, self.categories or ()
        )


def load_rules(path: Path) -> Router:
    """Read and validate a routing TOML file; every problem is a :class:`ConfigError` naming the fix."""
    data = read_toml(Path(path), "routing rules", "pass --rules with an existing file")
    return parse_rules(data, str(path))


def parse_rules(data: Mapping[str, Any], source: str = "routing rules") -> Router:
    return validate(RoutingFile, data, source).router()
