"""Last-resort guards against a stuck process: a watchdog thread and systemd's notify protocol.

The event loop beats (:meth:`Watchdog.beat`) about once a second. If no beat comes for
``timeout_s`` (a step that never ends, a blocking call that hangs), the watchdog thread writes
every thread's stack to the log and ends the process with exit status 70, so that systemd starts
it again: a process is never left alive and stuck. Under systemd (``NOTIFY_SOCKET`` set) each beat
also sends ``WATCHDOG=1``, and start-up sends ``READY=1``; a unit with ``Type=notify`` and
``WatchdogSec=`` then restarts the service by itself when the beats stop.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import socket
import sys
import threading
import time

log = logging.getLogger(__name__)

EXIT_STUCK = 70  # EX_SOFTWARE


def sd_notify(message: str, env: dict[str, str] | None = None) -> bool:
    """Send one systemd notify message (``READY=1``, ``WATCHDOG=1``, ``STATUS=...``); False without systemd."""
    addr = (env if env is not None else os.environ).get("NOTIFY_SOCKET", "")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            s.sendall(message.encode())
        return True
    except OSError:
        return False


class Watchdog:
    def __init__(self, timeout_s: float, exit_status: int = EXIT_STUCK) -> None:
        self.timeout_s = timeout_s
        self.exit_status = exit_status
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self._last = time.monotonic()
        sd_notify("WATCHDOG=1")

    def silent_for(self) -> float:
        return time.monotonic() - self._last

    def start(self) -> Watchdog:
        self._last = time.monotonic()
        self._thread = threading.Thread(target=self._watch, name="mda-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, self.timeout_s / 4)):
            silent = self.silent_for()
            if silent > self.timeout_s:
                log.critical(
                    "the event loop has not run for %.0f s: ending the process; stacks follow", silent
                )
                faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
                sys.stderr.flush()
                os._exit(self.exit_status)
