"""Wiring: feeds -> decoders -> pipeline -> sinks (outbox/MQTT, live map, JSON lines).

:func:`run_service` puts the asynchronous feed sources, the MQTT publisher, the web server and
their supervision around the synchronous :class:`mdacentre.service.core.Core`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import shapely
import uvicorn

from mdacentre.alerting.acks import AckAction, AckCommand, CommandError, parse_mqtt_command
from mdacentre.alerting.alerts import Alert
from mdacentre.alerting.handover import HandoverOutlet
from mdacentre.alerting.notes import NoteBook
from mdacentre.alerting.routing import load_rules
from mdacentre.alerting.store import STORE_FILE, AlertStore, StoreBusy, StoreDb
from mdacentre.api.auth import Security
from mdacentre.api.auth.bootstrap import ensure_first_user
from mdacentre.api.auth.config import parse_hosts
from mdacentre.api.auth.oidc import OidcConfig, OidcProvider
from mdacentre.api.auth.routes import ack_routes
from mdacentre.api.brief import brief_router
from mdacentre.api.health import health_router
from mdacentre.api.notes import notes_router
from mdacentre.api.vocabulary import vocabulary
from mdacentre.api.web import MemoryMapState, create_app
from mdacentre.core.zones import Zone
from mdacentre.ingest.feeds import FeedSpec
from mdacentre.ingest.sources import Chunk, FeedSource
from mdacentre.model.errors import DeliveryError, MdaError
from mdacentre.reports.brief import brief_html
from mdacentre.runtime.audit import AuditEvent
from mdacentre.runtime.backoff import Backoff
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import Settings
from mdacentre.runtime.watchdog import Watchdog, sd_notify
from mdacentre.service.core import Core, alert_messages
from mdacentre.service.coreloop import CoreLoop
from mdacentre.service.embedded_broker import start_embedded
from mdacentre.service.health import HealthMonitor
from mdacentre.service.hotpath import shorten_gil_switch
from mdacentre.service.http_server import server_config
from mdacentre.service.preflight import check_environment
from mdacentre.service.supervise import Stage, StageFailed, Supervisor
from mdacentre.service.timeline import feed_state
from mdacentre.sinks.broker import Mosquitto, port_open
from mdacentre.sinks.mqtt import MqttPublisher, alert_topic
from mdacentre.sinks.outbox import Outbox

log = logging.getLogger(__name__)

LIVE_FEATURES = ("past_picture", "notes")  # optional parts of the page this service offers


def feed_health_json(
    sources: list[FeedSource],
    metrics: Metrics,
    rates: dict[str, float],
    used_rates: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    now = time.time()
    out = []
    for s in sources:
        name = s.spec.name
        rej = metrics.by_label("mda_rejects_total", "reason", feed=name)
        d = s.health.as_json(now, rates.get(name, 0.0), rej)
        drops = s.kernel_drops()
        if drops is not None:  # UDP: datagrams the kernel dropped before the service saw them
            d["kernel_drops"] = drops
            d["rcvbuf_bytes"] = s.rcvbuf_bytes
        if used_rates is not None:
            d["records_used_per_s"] = round(used_rates.get(name, 0.0), 2)
            d["late_reports"] = int(metrics.total("mda_late_reports_total", feed=name))
            d["state"] = feed_state(d["connected"], rates.get(name, 0.0), used_rates.get(name, 0.0)).value
        out.append(d)
    return out


async def run_service(
    settings: Settings,
    feeds: list[FeedSpec],
    stop: asyncio.Event,
    *,
    started: asyncio.Event | None = None,
    extra_tasks: list[Any] | None = None,
) -> None:
    """The live service: feeds, pipeline, durable MQTT delivery and the live map, until ``stop``.

    Every stage runs supervised (:mod:`mdacentre.service.supervise`); a stage that keeps failing
    raises :class:`~mdacentre.service.supervise.StageFailed` here, so the process exits non-zero.
    """
    check_environment(settings, feeds, STORE_FILE)
    metrics = Metrics()
    core = Core(settings, feeds, metrics, archive=True, live=True)
    state = MemoryMapState(metrics)
    state.set_zones(zones_collection(core.zones))
    db = StoreDb(settings.data_dir / STORE_FILE, settings.store.busy_timeout_s)
    db.migrate_legacy(settings.data_dir)
    outbox = Outbox(db)
    store = AlertStore(db)
    prefix = settings.mqtt.topic_prefix
    qos = settings.mqtt.qos

    def apply_ack(cmd: AckCommand) -> dict[str, Any]:
        # On the event loop: never wait for a lock another process holds (StoreBusy instead).
        with db.immediate() as free:
            try:
                if not free:
                    raise sqlite3.OperationalError("another write is in progress")
                d = store.acknowledge(
                    cmd.alert_id,
                    cmd.by,
                    cmd.note,
                    retract=cmd.action == AckAction.RETRACT,
                    manager=core.pipeline.alerts,
                    messages=lambda d: [
                        (
                            alert_topic(prefix, d["state"], d["category"], d["level"]),
                            orjson.dumps(d),
                            qos,
                            False,
                        )
                    ],
                )
            except sqlite3.OperationalError as exc:
                raise StoreBusy(f"the alert store is busy ({exc}); nothing was recorded, try again") from None
        publisher.notify()
        state.add_alert(d)
        metrics.inc("mda_acknowledgements_total", 1, {"action": cmd.action.value})
        if core.archive is not None:
            core.archive.record_ack(d)
        return d

    rules = settings.alerting_dir / "routing.toml"
    router = load_rules(rules) if rules.is_file() else None
    security = web_security(settings, router)

    async def on_command(topic: str, payload: bytes) -> None:
        try:
            d = await _on_command(topic, payload)
        except MdaError as exc:
            reply(topic, {"status": "refused", "error": str(exc)}, payload)
            if security.audit is not None:
                security.audit.append(AuditEvent.ACK_REFUSED, topic.rsplit("/", 1)[-1], {"error": str(exc)})
            raise
        reply(
            topic,
            {"status": "accepted", "version": d.get("version"), "alert_status": d.get("status")},
            payload,
        )

    def reply(topic: str, doc: dict[str, Any], payload: bytes) -> None:
        """Answer an acknowledgement on ``{topic}/reply`` (only that agency may read it)."""
        if len(topic.split("/")) != len(prefix.split("/")) + 2:
            return
        try:
            asked = orjson.loads(payload)
        except orjson.JSONDecodeError:
            asked = None
        if isinstance(asked, dict) and isinstance(asked.get("id"), str):
            doc = {"id": asked["id"][:64], **doc}
        outbox.put_many([(f"{topic}/reply", orjson.dumps(doc), settings.mqtt.qos, False)])
        publisher.notify()

    async def _on_command(topic: str, payload: bytes) -> dict[str, Any]:
        cmd = parse_mqtt_command(topic, payload, prefix)
        agency = cmd.by.split("/", 1)[0]
        alert = store.get(cmd.alert_id)
        # An agency may acknowledge only what it was sent (least privilege).
        if alert is not None and router is not None and agency not in router.route(alert):
            raise CommandError(f"agency {agency} was not sent alert {cmd.alert_id}")
        backoff = Backoff(0.1, 2.0)
        d: dict[str, Any] | None = None
        for _ in range(120):  # an agency's acknowledgement waits out a busy store (a few minutes)
            try:
                d = apply_ack(cmd)
                break
            except StoreBusy as exc:
                log.warning("acknowledgement of %s from %s waits: %s", cmd.alert_id, cmd.by, exc)
                await asyncio.sleep(backoff.next_delay())
        if d is None:
            d = apply_ack(cmd)
        if security.audit is not None:
            security.audit.append(
                AuditEvent.ACKNOWLEDGE,
                cmd.by,
                {"alert": cmd.alert_id, "version": d.get("version"), "via": "mqtt"},
            )
        return d

    broker: Mosquitto | None = None
    mqtt_settings = settings.mqtt
    host, port = settings.mqtt.host, settings.mqtt.port
    if not host:
        host, port = settings.mqtt.embedded_host, settings.mqtt.embedded_port
        if port_open(host, port):
            log.info("an MQTT broker already listens on %s:%d: using it", host, port)
        else:
            broker, mqtt_settings = start_embedded(settings, rules)
            log.info("embedded Mosquitto started on %s:%d (authenticated, ACL from %s)", host, port, rules)
    publisher = MqttPublisher(mqtt_settings, outbox, metrics, on_command=on_command)

    def messages(published: list[Alert]) -> list[tuple[str, bytes, int, bool]]:
        msgs = alert_messages(prefix, published, qos)
        return msgs + core.status_messages(prefix, {a.track_key for a in published}, qos)

    queue: asyncio.Queue[Chunk] = asyncio.Queue(maxsize=10000)
    sources = [FeedSource(i, f, queue, metrics) for i, f in enumerate(feeds)]
    loop = CoreLoop(
        core,
        queue,
        state,
        store,
        messages,
        publisher.notify,
        handed=publisher.handed,
        min_step_s=settings.core.batch_interval_s,
    )
    h = settings.health
    supervisor = Supervisor(metrics, stop, max_restarts=h.stage_restarts, window_s=h.restart_window_s)
    monitor = HealthMonitor(
        h,
        settings.store,
        metrics,
        supervisor=supervisor,
        loop=loop,
        publisher=publisher,
        db=db,
        outbox=outbox,
        sources=sources,
        watermark=lambda: core.pipeline.watermark,
        state=state,
    )
    app = create_app(
        state,
        settings.web_dir,
        extra_routers=[health_router(monitor.report)],
        vocabulary=vocabulary(
            router.categories if router else (),
            features=LIVE_FEATURES,
            agencies={a.id: a.name for a in router.agencies.values()} if router else None,
        ),
        security=security,
    )
    app.include_router(ack_routes(apply_ack, security, store.get))
    outlet = HandoverOutlet(router.agencies if router else (), prefix, qos, publisher.notify)
    app.include_router(notes_router(NoteBook(db), security, store.get, state.publish, outlet))
    app.include_router(history_api(settings, router, core.zones))
    app.include_router(brief_api(settings))
    app.include_router(picture_api(settings))
    server = uvicorn.Server(server_config(settings, app))
    rates = FeedRates(sources, metrics, state)

    watchdog = Watchdog(h.stuck_s)

    async def health_stage() -> None:
        while not stop.is_set():
            watchdog.beat()
            await monitor.refresh()
            rates.update()
            stalled = loop.stalled_for()
            if stalled > h.stuck_s and not (loop.store_error or monitor.store_error):
                # not waiting for the store: the pipeline itself hangs; only a restart helps
                raise StageFailed(f"the pipeline made no progress for {stalled:.0f} s with input waiting")
            try:
                await asyncio.wait_for(stop.wait(), h.interval_s)
            except TimeoutError:
                pass

    def feed_stage(src: FeedSource) -> Stage:
        return Stage(f"feed:{src.spec.name}", lambda: src.run(stop))

    stages = [feed_stage(s) for s in sources]

    async def broker_stage() -> None:
        """The embedded Mosquitto is a stage too: started again if it exits."""
        assert broker is not None
        if broker.proc is None or broker.proc.poll() is not None:
            await asyncio.to_thread(broker.start)
            log.info("embedded Mosquitto started again on %s:%d", host, port)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
            rc = broker.proc.poll() if broker.proc is not None else None
            if rc is not None and not stop.is_set():
                raise DeliveryError(f"the embedded Mosquitto exited with status {rc}: {broker.log}")

    if broker is not None:
        stages.append(Stage("broker", broker_stage))
    stages += [
        Stage("mqtt", lambda: publisher.run(host, port, stop)),
        Stage("web", server.serve, restart=False),
        Stage("core", lambda: loop.run(stop)),
        Stage("health", health_stage),
    ]
    # The zone library, profiles and decoders live as long as the process: keep them out of the
    # cyclic collector's full passes (a pass over them paused the loop for over 100 ms).
    gc.collect()
    gc.freeze()
    switch_before = shorten_gil_switch()
    supervised = asyncio.create_task(supervisor.run(stages))
    stopper = asyncio.create_task(stop.wait())
    watchdog.start()
    sd_notify("READY=1")
    if started is not None:
        started.set()
    try:
        await asyncio.wait({supervised, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if supervised.done():
            supervised.result()  # a stage gave up: StageFailed ends the service (non-zero exit)
    finally:
        watchdog.stop()
        sd_notify("STOPPING=1")
        stop.set()
        server.should_exit = True
        await asyncio.sleep(0.3)
        for t in (supervised, stopper):
            if not t.done():
                t.cancel()
        await asyncio.gather(supervised, stopper, return_exceptions=True)
        sys.setswitchinterval(switch_before)
        db.close()
        core.close()
        if broker is not None:
            broker.close()


def history_api(settings: Settings, router: Any = None, zones: Any = ()) -> Any:
    """REST history over this service's archive (data_dir/archive.dir): trails and alert versions
    (liaisons scoped to their agency's jurisdiction) and the analyst's SQL."""
    from mdacentre.service.history_api import history_routes

    return history_routes(settings, router, zones)


def picture_api(settings: Settings) -> Any:
    """The track picture at a past time over this service's archive (GET /api/picture)."""
    from mdacentre.api.pastpicture import picture_router
    from mdacentre.service.flags import track_flags
    from mdacentre.sinks.archive.picture import past_picture

    root = settings.data_dir / settings.archive.dir
    return picture_router(lambda at, lookback: past_picture(root, at, lookback, flags=track_flags))


def brief_api(settings: Settings) -> Any:
    """The incident briefing download over this service's archive (GET /api/alerts/{id}/brief)."""
    return brief_router(partial(brief_html, settings.data_dir / settings.archive.dir, settings.web_dir))


def web_security(settings: Settings, router: Any) -> Security:
    """Users, sessions and audit trail of the map from the settings; creates the first user if none."""
    a = settings.auth
    sec = Security.in_dir(
        settings.data_dir,
        router,
        parse_hosts(a.allowed_hosts, settings.http.host),
        max_body=a.max_body_bytes,
        secure_cookies=a.secure_cookies or bool(a.tls_certfile),
        idle_s=a.session_idle_s,
        oidc=oidc_provider(settings),
    )
    first = ensure_first_user(sec.users, a.bootstrap_password) if sec.users is not None else None
    if first is not None:
        name, generated = first
        if sec.audit is not None:
            sec.audit.append(AuditEvent.USER_ADDED, "service", {"user": name, "role": "watch", "first": True})
        secret = f"password {generated}" if generated else "the password in MDA_AUTH_BOOTSTRAP_PASSWORD"
        print(
            f"mdacentre: no users yet: created the watch officer {name!r}; sign in at /login with {secret}. "
            f"Add users with `mdacentre users add NAME --role ROLE --data-dir {settings.data_dir}`.",
            file=sys.stderr,
        )
    return sec


def oidc_provider(settings: Settings) -> OidcProvider | None:
    """The OpenID Connect provider of the settings, or None when ``auth.oidc_issuer`` is empty."""
    a = settings.auth
    if not a.oidc_issuer:
        return None
    cfg = OidcConfig(
        issuer=a.oidc_issuer,
        client_id=a.oidc_client_id,
        client_secret=a.oidc_client_secret,
        redirect_uri=a.oidc_redirect_uri,
        role_claim=a.oidc_role_claim,
        agency_claim=a.oidc_agency_claim,
    )
    return OidcProvider(cfg)


def zones_collection(zones: list[Zone]) -> dict[str, Any]:
    feats = []
    for z in zones:
        g = shapely.simplify(z.geometry, 0.005, preserve_topology=True)
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "id": z.id,
                    "name": z.name,
                    "kind": z.kind.value,
                    "state": z.state,
                    "approximate": z.approximate,
                },
                "geometry": shapely.geometry.mapping(g),
            }
        )
    return {"type": "FeatureCollection", "features": feats}


class FeedRates:
    """Lines per second of every feed, refreshed by the health stage and shown on the map."""

    def __init__(self, sources: list[FeedSource], metrics: Metrics, state: Any) -> None:
        self.sources, self.metrics, self.state = sources, metrics, state
        self.last: dict[str, float] = {}
        self.last_used: dict[str, float] = {}
        self.last_t = time.monotonic()

    def update(self) -> None:
        now = time.monotonic()
        rates: dict[str, float] = {}
        used: dict[str, float] = {}  # records that reached the picture (not refused, not late)
        for s in self.sources:
            u = self.metrics.total("mda_records_used_total", feed=s.spec.name)
            used[s.spec.name] = (u - self.last_used.get(s.spec.name, 0.0)) / max(1e-6, now - self.last_t)
            self.last_used[s.spec.name] = u
            total = self.metrics.total("mda_lines_total", feed=s.spec.name)
            rates[s.spec.name] = (total - self.last.get(s.spec.name, 0.0)) / max(1e-6, now - self.last_t)
            self.last[s.spec.name] = total
            self.metrics.set("mda_feed_msgs_per_second", rates[s.spec.name], {"feed": s.spec.name})
        self.last_t = now
        self.state.set_feeds(feed_health_json(self.sources, self.metrics, rates, used))


def alerts_path(settings: Settings) -> Path:
    return settings.data_dir / "alerts.jsonl"


__all__ = ["run_service"]
