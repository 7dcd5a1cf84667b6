"""Checks of the environment before the service starts: each failure is one line saying what to fix.

A data directory that is missing and cannot be created, is read-only or on a full file system;
a port some other process already listens on; a CA certificate that is missing or not a
certificate. Each raises :class:`ConfigError`; the command line prints its message and exits
non-zero.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import tempfile
from pathlib import Path

from mdacentre.ingest.feeds import FeedSpec, Transport
from mdacentre.model.errors import ConfigError
from mdacentre.runtime.settings import Settings

WRITE_TEST_BYTES = 256 * 1024  # written and synced in the data directory before the service starts


def check_data_dir(path: Path, store_file: str) -> None:
    """The data directory exists (or can be created) and the service can write in it."""
    path = Path(path)
    hint = "set --data-dir or MDA_DATA_DIR to a writable directory"
    if path.exists() and not path.is_dir():
        raise ConfigError(f"data directory {path} is not a directory; {hint}")
    if not path.exists():
        try:
            path.mkdir(parents=True)
        except OSError as exc:
            raise ConfigError(
                f"data directory {path} is missing and cannot be created ({exc.strerror}); "
                f"create it, writable by the service user, or {hint}"
            ) from None
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-", buffering=0) as fh:
            # a few blocks, synced: a full file system fails here, not in the store's first write
            fh.write(b"\0" * WRITE_TEST_BYTES)
            os.fsync(fh.fileno())
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ConfigError(
                f"data directory {path} is on a full file system ({exc.strerror}); free space on it or {hint}"
            ) from None
        what = (
            "is on a read-only file system"
            if exc.errno == errno.EROFS
            else f"is not writable ({exc.strerror})"
        )
        raise ConfigError(
            f"data directory {path} {what}; make it writable by the service user or {hint}"
        ) from None
    db = path / store_file
    if db.exists():
        try:
            with open(db, "r+b"):
                pass
        except OSError as exc:
            raise ConfigError(
                f"store {db} is not writable ({exc.strerror}); give the service user write access to it"
            ) from None


def check_port(host: str, port: int, what: str, hint: str, kind: int = socket.SOCK_STREAM) -> None:
    """Nothing else listens on ``host:port`` (port 0: the system picks one, always free)."""
    if not port:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host or "0.0.0.0", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"{what} port {port} on {host or '*'} is already in use by another process; "
                    f"stop that process or {hint}"
                ) from None
            raise ConfigError(f"{what} cannot listen on {host}:{port} ({exc.strerror}); {hint}") from None


def check_tls(settings: Settings) -> None:
    m = settings.mqtt
    if not m.tls:
        if m.ca_file:
            raise ConfigError(
                f"mqtt.ca_file {m.ca_file} is set but mqtt.tls is off; set MDA_MQTT_TLS=1 or drop it"
            )
        return
    if m.ca_file:
        if not os.path.isfile(m.ca_file):
            raise ConfigError(
                f"mqtt.ca_file {m.ca_file} does not exist; give the broker's CA certificate (PEM)"
            )
        try:
            ssl.create_default_context(cafile=m.ca_file)
        except (ssl.SSLError, ValueError, OSError) as exc:
            raise ConfigError(
                f"mqtt.ca_file {m.ca_file} is not a valid PEM CA certificate ({exc}); "
                "give the broker's CA certificate in PEM form"
            ) from None


def check_environment(settings: Settings, feeds: list[FeedSpec], store_file: str) -> None:
    """Every start-up check, in the order an operator would fix them."""
    check_data_dir(settings.data_dir, store_file)
    check_tls(settings)
    check_port(
        settings.http.host, settings.http.port, "HTTP (map and API)", "set --http-port or MDA_HTTP_PORT"
    )
    for f in feeds:
        if f.transport == Transport.TCP_SERVER:
            check_port(f.host, f.port, f"feed {f.name} (TCP)", f"change port in the feed definition {f.name}")
        elif f.transport == Transport.UDP:
            check_port(
                f.host,
                f.port,
                f"feed {f.name} (UDP)",
                f"change port in the feed definition {f.name}",
                socket.SOCK_DGRAM,
            )
