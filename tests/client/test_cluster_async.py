"""Cluster mode with a real client (issue 13, test 9): three real ``huddle serve`` processes on
one PostgreSQL database and one ``nats-server``, started by ``run-cluster.sh``, which sets
``HUDDLE_CLUSTER_URLS`` (the nodes' base URLs, space-separated) and the admin's credentials.
``rocketchat-async`` bots (see test_realtime_async.py for how the package talks) are connected
to different nodes: what one sends over its websocket reaches the others, in one order.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time

import requests
from rocketchat_async import RocketChat

TIMEOUT = 10
HTTP_TIMEOUT = 30


def _nodes() -> list[str]:
    return os.environ["HUDDLE_CLUSTER_URLS"].split()


def _ws(base: str) -> str:
    assert base.startswith("http://"), base
    return "ws://" + base[len("http://"):] + "/websocket"


def _login(base: str, username: str, password: str) -> dict:
    r = requests.post(f"{base}/api/v1/login", json={"username": username, "password": password}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    return {"X-Auth-Token": data["authToken"], "X-User-Id": data["userId"]}


def _post(base: str, headers: dict, endpoint: str, body: dict) -> dict:
    r = requests.post(f"{base}/api/v1/{endpoint}", json=body, headers=headers, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, f"{endpoint}: {r.status_code} {r.text}"
    out = r.json()
    assert out.get("success") is True, out
    return out


def _user(base: str, admin: dict, prefix: str) -> dict:
    username = f"{prefix}{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    out = _post(base, admin, "users.create",
                {"email": f"{username}@example.com", "name": username, "password": password, "username": username})
    return {"username": username, "password": password, "id": out["user"]["_id"]}


async def _stop(rc: RocketChat) -> None:
    for name in ("dispatch_task", "_ws_connection_task"):
        task = getattr(rc, name, None)
        if task is not None and not task.done():
            task.cancel()
    for name in ("dispatch_task", "_ws_connection_task"):
        task = getattr(rc, name, None)
        if task is not None:
            try:
                await asyncio.wait_for(task, TIMEOUT)
            except BaseException:
                pass


def test_nodes_are_distinct_and_share_one_database():
    nodes = _nodes()
    assert len(nodes) == 3
    ids = set()
    for base in nodes:
        info = requests.get(f"{base}/api/info", timeout=HTTP_TIMEOUT).json()
        ids.add(info["info"]["node"])
    assert len(ids) == 3, ids
    # A session made on one node works on the others (one database).
    admin = _login(nodes[0], os.environ["HUDDLE_ADMIN_USERNAME"], os.environ["HUDDLE_ADMIN_PASSWORD"])
    for base in nodes[1:]:
        r = requests.get(f"{base}/api/v1/me", headers=admin, timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, r.text


def test_bots_on_three_nodes_hear_each_other_in_one_order():
    nodes = _nodes()
    admin = _login(nodes[0], os.environ["HUDDLE_ADMIN_USERNAME"], os.environ["HUDDLE_ADMIN_PASSWORD"])
    bots = [_user(nodes[0], admin, f"cbot{i}") for i in range(3)]
    rid = _post(nodes[0], admin, "channels.create",
                {"name": f"cluster-{secrets.token_hex(4)}", "members": [b["username"] for b in bots]})["channel"]["_id"]
    per_bot = 5

    async def main():
        queues = [asyncio.Queue() for _ in bots]
        clients = [RocketChat() for _ in bots]

        def listener(q):
            def on_message(channel_id, sender_id, msg_id, thread_id, text, qualifier, unread, repeated):
                if channel_id == rid and qualifier is None:
                    q.put_nowait(text)
            return on_message

        try:
            # Bot i on node i.
            for rc, bot, base, q in zip(clients, bots, nodes, queues):
                await asyncio.wait_for(rc.start(_ws(base), bot["username"], bot["password"]), TIMEOUT)
                await asyncio.wait_for(rc.subscribe_to_channel_messages(rid, listener(q)), TIMEOUT)
                # The package does not wait for "ready": one round trip makes sure it is live.
                await asyncio.wait_for(rc.get_channels(), TIMEOUT)
            # Every bot sends, concurrently, from its own node.
            async def send_all(i, rc):
                for n in range(per_bot):
                    await asyncio.wait_for(rc.send_message(f"b{i}-{n}", rid), TIMEOUT)
            await asyncio.gather(*(send_all(i, rc) for i, rc in enumerate(clients)))
            total = per_bot * len(bots)
            seen = []
            for q in queues:
                got = [await asyncio.wait_for(q.get(), TIMEOUT) for _ in range(total)]
                seen.append(got)
            assert sorted(seen[0]) == sorted(f"b{i}-{n}" for i in range(len(bots)) for n in range(per_bot))
            assert seen[1] == seen[0] and seen[2] == seen[0], seen
            for i in range(len(bots)):
                mine = [t for t in seen[0] if t.startswith(f"b{i}-")]
                assert mine == [f"b{i}-{n}" for n in range(per_bot)], mine
        finally:
            for rc in clients:
                await _stop(rc)

    asyncio.run(asyncio.wait_for(main(), 90))


def test_a_kick_with_a_frozen_node_returns_and_the_node_delivers_nothing_after_it():
    """Issue 13, test 4: node C is stopped (SIGSTOP) while the user it serves is kicked on A. The
    kick returns (C's acknowledgement times out), and once C continues it applies the kick before
    the message posted after it, so the kicked bot never hears that message."""
    nodes = _nodes()
    pids = [int(p) for p in os.environ["HUDDLE_CLUSTER_PIDS"].split()]
    admin = _login(nodes[0], os.environ["HUDDLE_ADMIN_USERNAME"], os.environ["HUDDLE_ADMIN_PASSWORD"])
    kicked = _user(nodes[0], admin, "frozen")
    rid = _post(nodes[0], admin, "groups.create",
                {"name": f"freeze-{secrets.token_hex(4)}", "members": [kicked["username"]]})["group"]["_id"]
    probe_rid = _post(nodes[0], admin, "groups.create",
                      {"name": f"probe-{secrets.token_hex(4)}", "members": [kicked["username"]]})["group"]["_id"]

    async def main():
        heard: asyncio.Queue = asyncio.Queue()

        def on_message(channel_id, sender_id, msg_id, thread_id, text, qualifier, unread, repeated):
            if qualifier is None:
                heard.put_nowait(text)

        rc = RocketChat()
        try:
            await asyncio.wait_for(rc.start(_ws(nodes[2]), kicked["username"], kicked["password"]), TIMEOUT)
            await asyncio.wait_for(rc.subscribe_to_channel_messages(rid, on_message), TIMEOUT)
            await asyncio.wait_for(rc.subscribe_to_channel_messages(probe_rid, on_message), TIMEOUT)
            await asyncio.wait_for(rc.get_channels(), TIMEOUT)
            await asyncio.to_thread(_post, nodes[0], admin, "chat.postMessage", {"roomId": rid, "text": "before"})
            assert await asyncio.wait_for(heard.get(), TIMEOUT) == "before"

            os.kill(pids[2], signal.SIGSTOP)
            try:
                # Returns although C cannot answer (bounded by the HTTP timeout, not measured).
                await asyncio.to_thread(_post, nodes[0], admin, "groups.kick", {"roomId": rid, "userId": kicked["id"]})
                await asyncio.to_thread(_post, nodes[0], admin, "chat.postMessage", {"roomId": rid, "text": "after"})
                await asyncio.to_thread(_post, nodes[0], admin, "chat.postMessage", {"roomId": probe_rid, "text": "probe"})
            finally:
                os.kill(pids[2], signal.SIGCONT)
            got = []
            while "probe" not in got:
                got.append(await asyncio.wait_for(heard.get(), TIMEOUT))
            # A little longer for anything of the other room still on its way.
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                try:
                    got.append(await asyncio.wait_for(heard.get(), deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
            assert "after" not in got, got
        finally:
            await _stop(rc)

    asyncio.run(asyncio.wait_for(main(), 90))


def _history(base: str, headers: dict, rid: str) -> list[dict]:
    r = requests.get(f"{base}/api/v1/channels.history", params={"roomId": rid, "count": 1000},
                     headers=headers, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    return [m for m in reversed(r.json()["messages"]) if not m.get("t")]


def test_zz_a_killed_node_loses_nothing():
    """Issue 13, test 6 (runs last: it kills node B with SIGKILL). Posts go through B while a bot
    listens on A and another on B. After B dies, A's bot hears every message B committed, exactly
    once and in order; B's bot reconnects to A and, resuming from the last message it saw (as
    Rocket.Chat clients do, with the history since then), misses nothing."""
    nodes = _nodes()
    pids = [int(p) for p in os.environ["HUDDLE_CLUSTER_PIDS"].split()]
    admin = _login(nodes[0], os.environ["HUDDLE_ADMIN_USERNAME"], os.environ["HUDDLE_ADMIN_PASSWORD"])
    on_a, on_b = _user(nodes[0], admin, "alive"), _user(nodes[0], admin, "moving")
    rid = _post(nodes[0], admin, "channels.create",
                {"name": f"kill-{secrets.token_hex(4)}", "members": [on_a["username"], on_b["username"]]})["channel"]["_id"]
    poster = _login(nodes[1], os.environ["HUDDLE_ADMIN_USERNAME"], os.environ["HUDDLE_ADMIN_PASSWORD"])

    async def main():
        qa: asyncio.Queue = asyncio.Queue()
        qb: asyncio.Queue = asyncio.Queue()

        def listener(q):
            def on_message(channel_id, sender_id, msg_id, thread_id, text, qualifier, unread, repeated):
                if channel_id == rid and qualifier is None:
                    q.put_nowait((msg_id, text))
            return on_message

        a, b = RocketChat(), RocketChat()
        b2 = RocketChat()
        try:
            for rc, user, base, q in ((a, on_a, nodes[0], qa), (b, on_b, nodes[1], qb)):
                await asyncio.wait_for(rc.start(_ws(base), user["username"], user["password"]), TIMEOUT)
                await asyncio.wait_for(rc.subscribe_to_channel_messages(rid, listener(q)), TIMEOUT)
                await asyncio.wait_for(rc.get_channels(), TIMEOUT)

            def post_until_dead():
                n = 0
                while True:
                    try:
                        r = requests.post(f"{nodes[1]}/api/v1/chat.postMessage", headers=poster,
                                          json={"roomId": rid, "text": f"m{n}"}, timeout=5)
                    except requests.RequestException:
                        return n
                    if r.status_code != 200:
                        return n
                    n += 1
                    if n == 20:
                        os.kill(pids[1], signal.SIGKILL)
            await asyncio.to_thread(post_until_dead)
            committed = _history(nodes[0], admin, rid)
            assert len(committed) >= 20, len(committed)

            # A's bot hears every committed message once, in order.
            heard_a = [await asyncio.wait_for(qa.get(), TIMEOUT) for _ in committed]
            assert [m for _, m in heard_a] == [m["msg"] for m in committed]

            # B's bot lost its node: what it saw, then a new connection to A from there on.
            seen_b = []
            while not qb.empty():
                seen_b.append(qb.get_nowait())
            await _stop(b)
            await asyncio.wait_for(b2.start(_ws(nodes[0]), on_b["username"], on_b["password"]), TIMEOUT)
            await asyncio.wait_for(b2.subscribe_to_channel_messages(rid, listener(qb)), TIMEOUT)
            await asyncio.wait_for(b2.get_channels(), TIMEOUT)
            last = seen_b[-1][0] if seen_b else None
            mine = _login(nodes[0], on_b["username"], on_b["password"])
            history = _history(nodes[0], mine, rid)
            ids = [m["_id"] for m in history]
            resumed = history[ids.index(last) + 1:] if last else history
            got = [t for _, t in seen_b] + [m["msg"] for m in resumed]
            assert got == [m["msg"] for m in committed], got
        finally:
            for rc in (a, b, b2):
                await _stop(rc)

    asyncio.run(asyncio.wait_for(main(), 120))
