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

Clients that see the same hub messages (the same scope: the full picture of watch officers and
analysts, or one agency's liaisons when that agency reads every track) share one :class:`SharedFrames`
from :class:`ScopeFrames`: each hub ``tracks`` message is encoded and serialized once for all of them.
Its details are relative to the scope's previous hub message (numbered by the hub's ``seq``); a frame
that does not follow the last one encoded (a gap, or a client behind the others) carries every detail
instead, so a shared frame is right for any client of the scope that has had its snapshot.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from mdacentre.model.errors import MdaError

DYNAMIC = ("lat", "lon", "sog", "cog", "heading", "alt_ft", "t", "score", "level")
_NOT_DETAIL = frozenset((*DYNAMIC, "key"))
SNAPSHOT_CHUNK = 2000
TRACKS = "tracks"
SEQ = "seq"  # the hub's number of a tracks message (MemoryMapState), increasing
KEEP_FRAMES = 256  # encoded frames a scope keeps for its slower clients


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

    def adopt(self, other: TrackWire) -> None:
        """Start from what ``other``'s client has (a copy: the two go on separately)."""
        self._sent = dict(other._sent)

    def frame(
        self, tracks: list[dict[str, Any]], removed: list[str], every_detail: bool = False
    ) -> dict[str, Any]:
        """The columnar ``tracks`` frame for these track documents and removed keys (``every_detail``:
        the details of every track, whatever the client had)."""
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
            if every_detail or sent.get(key) != rest:
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


class SharedFrames:
    """The frames of one scope, encoded and serialized once for all its clients (by the hub's ``seq``).

    The scope's encoder follows the hub's tracks messages in order, so its record of details is what a
    client that got every frame since its snapshot has. The first frame is encoded relative to the
    scope's only client when it has one (its own picture: the snapshot it just got), else with every
    detail. A message after a gap (seq not the next) restarts the record (every detail, once per
    track); a message older than the last one encoded (a client behind the others, past the cache) is
    encoded on its own with every detail.
    """

    def __init__(self, dumps: Callable[[Any], bytes], keep: int = KEEP_FRAMES) -> None:
        self.dumps = dumps
        self.keep = keep
        self.wire = TrackWire()
        self.last = -1  # seq of the last message encoded in order
        self.clients = 0
        self.encoded = 0  # frames encoded (the others were served from the cache)
        self.served = 0
        self._cache: OrderedDict[int, str] = OrderedDict()

    def text(self, msg: dict[str, Any], own: TrackWire | None = None) -> str:
        """The JSON text of the ``tracks`` frame of hub message ``msg``; ``own``: the asking client's
        encoder (its snapshot), used to start the scope's record when that client is the only one."""
        self.served += 1
        seq = msg.get(SEQ)
        if not isinstance(seq, int):  # not numbered by the hub: nothing to share, every detail
            return self._encode(msg, TrackWire(), every_detail=True)
        got = self._cache.get(seq)
        if got is not None:
            return got
        if seq <= self.last:
            out = self._encode(msg, TrackWire(), every_detail=True)
        else:
            if self.last < 0 and own is not None and self.clients == 1:
                self.wire.adopt(own)
            elif seq != self.last + 1:
                self.wire.reset()
            out = self._encode(msg, self.wire, every_detail=False)
            self.last = seq
        self._cache[seq] = out
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        return out

    def _encode(self, msg: dict[str, Any], wire: TrackWire, every_detail: bool) -> str:
        self.encoded += 1
        frame = wire.frame(list(msg.get("tracks", [])), list(msg.get("removed", [])), every_detail)
        return self.dumps(frame).decode("utf-8")


class ScopeFrames:
    """One :class:`SharedFrames` per scope key, while the scope has clients."""

    def __init__(self, dumps: Callable[[Any], bytes]) -> None:
        self.dumps = dumps
        self._scopes: dict[Hashable, SharedFrames] = {}

    def join(self, key: Hashable) -> SharedFrames:
        shared = self._scopes.get(key)
        if shared is None:
            shared = self._scopes[key] = SharedFrames(self.dumps)
        shared.clients += 1
        return shared

    def leave(self, key: Hashable) -> None:
        shared = self._scopes.get(key)
        if shared is not None:
            shared.clients -= 1
            if shared.clients <= 0:
                del self._scopes[key]

    def scopes(self) -> dict[Hashable, SharedFrames]:
        return dict(self._scopes)


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
