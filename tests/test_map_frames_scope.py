"""Map frames are encoded once per scope and tick, not once per client, and scoping stays right: watch
officers share one encoding, an agency that reads every track has its own, a liaison limited to its
alerts' tracks gets only those. Real server (uvicorn), real WebSockets, real sign-in and routing rules."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import websockets

from mdacentre.alerting.routing import load_rules
from mdacentre.api.mapwire import SharedFrames, TrackWire, WireReader
from mdacentre.api.web import MemoryMapState, create_app, dumps
from mdacentre.model.findings import Level
from tests.authkit import PASSWORD, LiveServer, make_security
from tests.test_broker_acl import REPO, RULES, make_alert

USERS = (
    ("w1", "watch", None),
    ("w2", "watch", None),
    ("w3", "watch", None),
    ("ana", "analyst", None),
    ("desk", "liaison", "rsc-desk"),  # its agency reads every track (tracks = true)
    ("jm", "liaison", "jdf-cg"),  # the tracks of its agency's alerts only
)
JM_MMSI = 306123000


def track(mmsi: int, lat: float, name: str = "SHIP") -> dict[str, Any]:
    return {
        "key": f"vessel:{mmsi}",
        "kind": "vessel",
        "id": str(mmsi),
        "name": name,
        "lat": lat,
        "lon": -76.0,
    }


def cookie_of(url: str, user: str) -> str:
    with httpx.Client(base_url=url, timeout=10) as c:
        assert c.post("/api/session", json={"name": user, "password": PASSWORD}).status_code == 200
        return f"mda_session={c.cookies['mda_session']}"


class Client:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.reader = WireReader()
        self.frames: list[str] = []  # the tracks frames after the snapshot, as sent

    async def synced(self) -> None:
        assert orjson.loads(await self.ws.recv())["type"] == "snapshot"
        while (frame := orjson.loads(await self.ws.recv()))["type"] != "synced":
            self.reader.apply(frame)

    async def until_alert(self, version: int) -> None:
        """Apply every tracks frame until the alert message of this version (the end of a step)."""
        while True:
            text = await asyncio.wait_for(self.ws.recv(), 10)
            msg = orjson.loads(text)
            if msg["type"] == "tracks":
                self.frames.append(text)
                self.reader.apply(msg)
            elif msg["type"] == "alert" and msg["alert"]["version"] == version:
                return


def test_scopes_share_one_encoding_and_never_see_each_others_frames(tmp_path: Any) -> None:
    sec = make_security(tmp_path, users=USERS, router=load_rules(RULES))
    state = MemoryMapState()
    app = create_app(state, REPO / "web", security=sec)
    server = LiveServer(app)
    others = [JM_MMSI + i for i in range(1, 6)]
    state.upsert_tracks([track(JM_MMSI, 17.9), *(track(m, 18.0 + i) for i, m in enumerate(others))])
    jm_alert = make_alert(
        "JM", "zone_entry", Level.CRITICAL, mmsi=JM_MMSI
    ).to_json()  # critical: the desk too
    state.add_alert(jm_alert)
    cookies = {u: cookie_of(server.url, u) for u, _r, _a in USERS}
    version = jm_alert["version"]

    def step(tracks: list[dict[str, Any]], removed: list[str] = ()) -> int:  # type: ignore[assignment]
        nonlocal version
        if tracks:
            state.upsert_tracks(tracks)
        if removed:
            state.remove_tracks(removed)
        version += 1
        state.add_alert({**jm_alert, "version": version})
        return version

    async def connect(user: str) -> Client:
        url = f"ws://127.0.0.1:{server.port}/ws"
        ws = await websockets.connect(url, additional_headers={"Cookie": cookies[user]}, origin=server.url)  # type: ignore[arg-type]
        c = Client(ws)
        await c.synced()
        return c

    async def run() -> dict[str, Client]:
        clients = {u: await connect(u) for u in ("w1", "w2", "ana", "desk", "jm")}
        scopes = app.state.map_frames.scopes()
        assert set(scopes) == {("full",), ("agency", "rsc-desk")}  # jm: trimmed to its own tracks
        steps = [
            ([track(m, 10.0 + i) for i, m in enumerate([JM_MMSI, *others])], []),  # every track moves
            ([track(others[0], 11.0, "RENAMED"), track(JM_MMSI, 12.0, "JM RENAMED")], []),
            ([], [f"vessel:{others[1]}"]),
            ([track(others[1], 13.0, "BACK"), track(others[0], 11.5)], []),  # a name back as before
        ]
        for i, (tracks, removed) in enumerate(steps):
            if i == 2:  # a watch officer opens the map half-way
                clients["w3"] = await connect("w3")
            v = step(tracks, removed)
            for c in clients.values():
                await c.until_alert(v)
        full = app.state.map_frames.scopes()[("full",)]
        assert full.clients == 4
        # one encoding per hub message for the four full-picture clients
        assert full.encoded == len(steps) and full.served == 3 * 2 + 4 * 2
        for c in clients.values():
            await c.ws.close()
        return clients

    try:
        clients = asyncio.run(run())
    finally:
        server.stop()
    docs = {t["key"]: t for t in state.tracks()}
    for user in ("w1", "w2", "w3", "ana", "desk"):
        got = clients[user].reader.tracks
        assert set(got) == set(docs), user
        for key, doc in docs.items():
            assert {k: got[key].get(k) for k in doc} == doc, (user, key)
    # watch officers and analysts got the very same frames; the desk got its own scope's
    assert clients["w1"].frames == clients["w2"].frames == clients["ana"].frames
    assert clients["w3"].frames == clients["w1"].frames[2:]
    # the liaison of jdf-cg never received a frame with another track than its alert's
    jm_key = f"vessel:{JM_MMSI}"
    for text in clients["jm"].frames:
        frame = orjson.loads(text)
        assert set(frame["keys"]) | set(frame["removed"]) <= {jm_key}
        assert text not in clients["w1"].frames
    assert set(clients["jm"].reader.tracks) == {jm_key}
    assert clients["jm"].reader.tracks[jm_key]["name"] == "JM RENAMED"


def test_shared_frames_right_for_late_slow_and_gapped_clients() -> None:
    """Clients of one scope at different points of the stream all end with the hub's picture."""
    shared = SharedFrames(dumps, keep=2)
    docs: dict[str, dict[str, Any]] = {}
    msgs: list[dict[str, Any]] = []
    names = ["A", "B", "A", "A", "C", "A"]
    for seq, name in enumerate(names, start=1):
        tr = [track(1, float(seq), name), track(2, float(seq), name if seq % 2 else "EVEN")]
        msgs.append({"type": "tracks", "tracks": tr, "removed": [], "seq": seq})
    pictures: list[dict[str, dict[str, Any]]] = []  # the hub's picture after each message
    for m in msgs:
        docs.update({t["key"]: t for t in m["tracks"]})
        pictures.append({k: dict(v) for k, v in docs.items()})

    def follow(start: int, order: list[int]) -> dict[str, dict[str, Any]]:
        """A client whose snapshot is the picture after message ``start`` (0: empty), then frames."""
        reader, own = WireReader(), TrackWire()
        if start:
            for frame in own.snapshot_frames(list(pictures[start - 1].values())):
                reader.apply(frame)
        for i in order:
            reader.apply(orjson.loads(shared.text(msgs[i], own)))
        return reader.tracks

    shared.clients = 1
    fast = follow(1, [1, 2, 3, 4, 5])  # the only client: the scope starts from its picture
    shared.clients = 2
    slow = follow(0, [0, 1, 2, 3, 4, 5])  # behind the others, past the cache: every detail
    late = follow(4, [4, 5])  # opened the map after four messages
    for got in (fast, slow, late):
        assert {
            k: {f: v.get(f) for f in doc} for k, v in got.items() for doc in [pictures[-1][k]]
        } == pictures[-1]
    gapped = SharedFrames(dumps)
    gapped.clients = 2
    reader = WireReader()
    for i in (0, 1, 4, 5):  # messages 3 and 4 never asked for (clients resynced): the record restarts
        reader.apply(orjson.loads(gapped.text(msgs[i])))
    assert {k: v["name"] for k, v in reader.tracks.items()} == {"vessel:1": "A", "vessel:2": "EVEN"}
