"""The map WebSocket's track frames: columns of the fields that move, details only when they change.

The hub (:class:`mdacentre.api.web.MemoryMapState`) publishes plain track documents. Each client's
:class:`TrackWire` turns them into one compact ``tracks`` frame (docs/map.md, "WebSocket protocol")::

    {"type": "tracks", "keys": [k, ...], "lat": [...], "lon": [...], "sog": [...], "cog": [...],
     "heading": [...], "alt_ft": [...], "t": [...], "score": [...], "level": [...],
     "detail": [[i, {other fields}], ...], "removed": [k, ...]}

Column ``j`` of every list belongs to ``keys[j]``; a missing value is ``null``. ``detail`` carries the
other fields of the document (name, kind, id, flag, voyage, reasons, ...) for the tracks whose fields
changed since this client last got them, so a position update of 10,000 tracks sends no names.

A connect (or a resync) sends ``snapshot`` (alerts, feeds, health and ``total``, the track count)
then the tracks as ``tracks`` frames of at most :data:`SNAPSHOT_CHUNK` tracks, then ``synced``.
:class:`WireReader` is the reading side in Python (tests and tools use it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mdacentre.model.errors import MdaError

DYNAMIC = ("lat", "lon", "sog", "cog", "heading", "alt_ft", "t", "score", "level")
_NOT_DETAIL = frozenset((*DYNAMIC, "key"))
SNAPSHOT_CHUNK = 2000
TRACKS = "tracks"


class WireError(MdaError):
    """A tracks frame does not follow the columnar format."""


class TrackWire:
    """One client's encoder: remembers which details that client has, to send only changed ones."""

    def __init__(self) -> None:
        self._sent: dict[str, dict[str, Any]] = {}
        self.skipped = 0  # track documents without a string key, left out of the frames

    def reset(self) -> None:
        """Forget what the client has (it clears its picture on a snapshot)."""
        self._sent.clear()

    def frame(self, tracks: list[dict[str, Any]], removed: list[str]) -> dict[str, Any]:
        """The columnar ``tracks`` frame for these track documents and removed keys."""
        cols: dict[str, list[Any]] = {name: [] for name in DYNAMIC}
        keys: list[str] = []
        detail: list[list[Any]] = []
        sent = self._sent
        for tr in tracks:
            key = tr.get("key") if isinstance(tr, dict) else None
            if not isinstance(key, str):  # the hub checks tracks; a stray one is counted, not sent
                self.skipped += 1
                continue
            i = len(keys)
            keys.append(key)
            for name in DYNAMIC:
                cols[name].append(tr.get(name))
            rest = {k: v for k, v in tr.items() if k not in _NOT_DETAIL}
            if sent.get(key) != rest:
                sent[key] = rest
                detail.append([i, rest])
        for key in removed:
            sent.pop(key, None)
        return {"type": TRACKS, "keys": keys, **cols, "detail": detail, "removed": list(removed)}

    def snapshot_frames(self, tracks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The snapshot's tracks in frames of at most :data:`SNAPSHOT_CHUNK` (the client was reset)."""
        self.reset()
        for start in range(0, len(tracks), SNAPSHOT_CHUNK):
            yield self.frame(tracks[start : start + SNAPSHOT_CHUNK], [])


class WireReader:
    """The reading side: applies frames to a picture of whole track documents."""

    def __init__(self) -> None:
        self.tracks: dict[str, dict[str, Any]] = {}

    def apply(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        """Apply one ``tracks`` frame; returns the documents it updated, in frame order."""
        keys = frame.get("keys")
        if frame.get("type") != TRACKS or not isinstance(keys, list):
            raise WireError(f"not a columnar tracks frame: {sorted(frame)}")
        n = len(keys)
        for name in DYNAMIC:
            col = frame.get(name)
            if not isinstance(col, list) or len(col) != n:
                raise WireError(f"column {name!r} must be a list of {n} values")
        details = {int(i): d for i, d in frame.get("detail", [])}
        out: list[dict[str, Any]] = []
        for j, key in enumerate(keys):
            if not isinstance(key, str):
                raise WireError(f"key {key!r} is not a string")
            if j in details:
                doc = {"key": key, **details[j]}
            else:
                doc = dict(self.tracks.get(key, {"key": key}))
            for name in DYNAMIC:  # every column field is present; a missing value reads None
                doc[name] = frame[name][j]
            self.tracks[key] = doc
            out.append(doc)
        for key in frame.get("removed", []):
            self.tracks.pop(key, None)
        return out
