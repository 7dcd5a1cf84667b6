"""Kernel-side facts about a UDP socket: receive buffer size and datagrams the kernel dropped.

A UDP feed that cannot keep up loses datagrams in the kernel, before any byte reaches the service.
Linux counts them per socket in the ``drops`` column of ``/proc/net/udp`` and ``/proc/net/udp6``;
:func:`kernel_drops` finds the socket's row by its inode. Elsewhere (no ``/proc``) it answers None.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

PROC_FILES = (Path("/proc/net/udp"), Path("/proc/net/udp6"))
DEFAULT_RCVBUF = 8 << 20  # bytes asked for; the kernel caps it at net.core.rmem_max unless privileged
# SO_RCVBUFFORCE (Linux, needs CAP_NET_ADMIN): past rmem_max; Python's socket module does not name it
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform.startswith("linux") else None)


def set_receive_buffer(sock: socket.socket, size: int) -> int:
    """Ask for a ``size``-byte receive buffer (forced past rmem_max when privileged); the size granted."""
    if size > 0:
        done = False
        if SO_RCVBUFFORCE is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
                done = True
        if not done:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))


def socket_inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def parse_drops(text: str) -> dict[int, int]:
    """``{inode: drops}`` from the text of /proc/net/udp (or udp6)."""
    out: dict[int, int] = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        # sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops
        if len(parts) < 13:
            continue
        try:
            out[int(parts[9])] = int(parts[12])
        except ValueError:
            continue
    return out


def kernel_drops(inode: int, files: tuple[Path, ...] = PROC_FILES) -> int | None:
    """Datagrams the kernel dropped on the socket with this inode, or None when it cannot be read."""
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        drops = parse_drops(text).get(inode)
        if drops is not None:
            return drops
    return None
