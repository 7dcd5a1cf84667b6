"""The embedded Mosquitto with authentication: users, passwords and ACL generated from the routing rules.

On start the broker files are (re)generated in ``<data dir>/mosquitto`` (passwords kept between
starts), the broker refuses anonymous clients and binds every client id to its user name, and the
service connects as its own user ``mdacentre``. Agencies find their credentials in
``<data dir>/mosquitto/credentials/<agency>.txt``.
"""

from __future__ import annotations

import os
import pwd
import tomllib
from dataclasses import replace
from pathlib import Path

from mdacentre.alerting.broker_config import security_config, write_broker_config
from mdacentre.alerting.routing import SERVICE_USER
from mdacentre.model.errors import ConfigError
from mdacentre.runtime.settings import MqttSettings, Settings
from mdacentre.sinks.broker import Mosquitto


def broker_dir(settings: Settings) -> Path:
    return settings.data_dir / "mosquitto"


def credentials(out: Path, user: str) -> dict[str, object]:
    try:
        return tomllib.loads((out / "credentials" / f"{user}.txt").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the MQTT credentials of {user!r} in {out}: {exc}") from None


def start_embedded(settings: Settings, rules: Path) -> tuple[Mosquitto, MqttSettings]:
    """Start the authenticating embedded broker; returns it and the MQTT settings the service uses."""
    if not rules.is_file():
        raise ConfigError(
            f"the embedded broker needs the routing rules {rules} to generate its users and ACL; "
            "restore alerting/routing.toml or configure an external broker with MDA_MQTT_HOST"
        )
    host, port = settings.mqtt.embedded_host, settings.mqtt.embedded_port
    out = broker_dir(settings)
    write_broker_config(rules, out, port=port, host=host)
    me = pwd.getpwuid(os.geteuid()).pw_name
    conf = security_config(out) + f"user {me}\n"
    broker = Mosquitto(port, host, config=conf, workdir=out / "run").start()
    own = credentials(out, SERVICE_USER)
    mqtt = replace(settings.mqtt, username=str(own["username"]), password=str(own["password"]))
    return broker, mqtt
