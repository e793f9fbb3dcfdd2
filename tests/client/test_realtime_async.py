"""Real-client compatibility test for DDP: ``rocketchat-async`` from PyPI (pinned in requirements.txt),
an asyncio Rocket.Chat realtime client nobody on this project wrote, drives Huddle's ``/websocket``.

Same environment as test_rocketchat_api.py (run.sh starts the server and sets HUDDLE_URL and the
admin's credentials). REST set-up and checks use ``requests``; everything the bot does goes over
the websocket through the package's public API.

How the package talks to the server (read from rocketchat-async 4.3.0's source):
  * ``RocketChat().start(ws_url, username, password)`` opens the websocket (websockets 10.x), sends
    ``{"msg":"connect","version":"1","support":["1"]}`` without waiting for ``connected``, then the
    ``login`` method with ``{"user":{"username":...},"password":{"digest":sha256hex,"algorithm":"sha-256"}}``
    and keeps ``result.id`` as ``user_id``. ``resume(ws_url, username, token)`` logs in with
    ``{"resume": token}``.
  * ``get_channels()`` / ``get_channels_raw()`` call the ``rooms/get`` method (no params) and read
    ``result`` as a list of room objects (``_id``, ``t``).
  * ``subscribe_to_channel_messages(rid, cb)`` sends ``sub`` ``stream-room-messages`` with
    ``[rid, {"useCollection": false, "args": []}]`` and does NOT wait for ``ready``; callbacks are
    keyed by collection name and called with ``fields.args[0]`` of each ``changed`` frame as
    ``(rid, sender_id, msg_id, tmid, text, t, unread, repeated)``.
  * ``send_message(text, rid)`` calls ``sendMessage`` with ``{"_id": <12 hex>, "rid", "msg"}`` and
    waits for the ``result`` frame (the result itself is discarded).
  * Server ``ping`` is answered with ``pong``; ``ready``/``added``/``updated``/``nosub`` are ignored.
  * There is no close method: the test cancels the package's connection task.

Since the subscription is not confirmed, the test makes one more method call (``rooms/get``) after
subscribing: Huddle handles one connection's frames in order, so when that answer arrives the
subscription is live, and the message posted afterwards must reach it.
"""

from __future__ import annotations

import asyncio
import os
import secrets

import requests
from rocketchat_async import RocketChat

TIMEOUT = 10  # every single wait on the websocket
HTTP_TIMEOUT = 30


# ---------------------------------------------------------------------------------------------
# REST helpers (requests)
# ---------------------------------------------------------------------------------------------
def _base() -> str:
    return os.environ["HUDDLE_URL"].rstrip("/")


def _ws_url() -> str:
    base = _base()
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/websocket"
    assert base.startswith("http://"), base
    return "ws://" + base[len("http://"):] + "/websocket"


def _login(username: str, password: str) -> dict:
    r = requests.post(
        f"{_base()}/api/v1/login",
        json={"username": username, "password": password},
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    return {"X-Auth-Token": data["authToken"], "X-User-Id": data["userId"]}


def _post(headers: dict, endpoint: str, body: dict) -> dict:
    r = requests.post(f"{_base()}/api/v1/{endpoint}", json=body, headers=headers, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, f"{endpoint}: {r.status_code} {r.text}"
    out = r.json()
    assert out.get("success") is True, out
    return out


def _get(headers: dict, endpoint: str, params: dict) -> dict:
    r = requests.get(f"{_base()}/api/v1/{endpoint}", params=params, headers=headers, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, f"{endpoint}: {r.status_code} {r.text}"
    out = r.json()
    assert out.get("success") is True, out
    return out


def _admin() -> tuple[str, str, dict]:
    username = os.environ["HUDDLE_ADMIN_USERNAME"]
    password = os.environ["HUDDLE_ADMIN_PASSWORD"]
    return username, password, _login(username, password)


def _create_user(admin_headers: dict, prefix: str) -> dict:
    username = f"{prefix}{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    out = _post(
        admin_headers,
        "users.create",
        {
            "email": f"{username}@example.com",
            "name": username,
            "password": password,
            "username": username,
        },
    )
    return {"username": username, "password": password, "id": out["user"]["_id"]}


# ---------------------------------------------------------------------------------------------
# websocket helpers (rocketchat-async)
# ---------------------------------------------------------------------------------------------
async def _stop(rc: RocketChat) -> None:
    """The package has no close(): cancel its dispatcher and connection tasks (closing the socket)."""
    for name in ("dispatch_task", "_ws_connection_task"):
        task = getattr(rc, name, None)
        if task is not None and not task.done():
            task.cancel()
    for name in ("dispatch_task", "_ws_connection_task"):
        task = getattr(rc, name, None)
        if task is not None:
            try:
                await asyncio.wait_for(task, TIMEOUT)
            except BaseException:  # cancelled, or the connection's own error: both end it
                pass


def _run(coro) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------
def test_admin_logs_in_over_websocket_and_lists_rooms():
    username, password, headers = _admin()

    async def main():
        rc = RocketChat()
        try:
            await asyncio.wait_for(rc.start(_ws_url(), username, password), TIMEOUT)
            assert rc.user_id == headers["X-User-Id"]
            rooms = await asyncio.wait_for(rc.get_channels_raw(), TIMEOUT)
            assert isinstance(rooms, list)
            for room in rooms:
                assert isinstance(room["_id"], str) and room["_id"]
                assert room["t"] in ("c", "p", "d", "l")
            pairs = await asyncio.wait_for(rc.get_channels(), TIMEOUT)
            assert pairs == [(r["_id"], r["t"]) for r in rooms]
        finally:
            await _stop(rc)

    _run(main())


def test_wrong_password_is_refused_over_websocket():
    username, _, _ = _admin()

    async def main():
        rc = RocketChat()
        try:
            try:
                await asyncio.wait_for(rc.start(_ws_url(), username, "not-the-password"), TIMEOUT)
            except RuntimeError as e:  # the package raises RuntimeError(error.reason)
                assert str(e), "empty reason"
            else:
                raise AssertionError("login with a wrong password succeeded")
            assert rc.user_id is None
        finally:
            await _stop(rc)

    _run(main())


def test_bot_receives_rest_message_and_answers_over_websocket():
    _, _, admin_headers = _admin()
    bot = _create_user(admin_headers, "rcabot")
    human = _create_user(admin_headers, "rcahuman")
    channel = f"rca-{secrets.token_hex(4)}"
    rid = _post(admin_headers, "channels.create", {"name": channel})["channel"]["_id"]
    _post(admin_headers, "channels.invite", {"roomId": rid, "userId": bot["id"]})
    _post(admin_headers, "channels.invite", {"roomId": rid, "userId": human["id"]})
    human_headers = _login(human["username"], human["password"])

    question = f"ping {secrets.token_hex(6)}"
    answer = f"pong to {question}"

    async def main():
        received: asyncio.Queue = asyncio.Queue()

        def on_message(channel_id, sender_id, msg_id, thread_id, text, qualifier, unread, repeated):
            received.put_nowait(
                {"rid": channel_id, "sender": sender_id, "id": msg_id, "tmid": thread_id, "text": text, "t": qualifier}
            )

        async def next_message(pred):
            while True:
                m = await asyncio.wait_for(received.get(), TIMEOUT)
                if pred(m):
                    return m

        rc = RocketChat()
        try:
            await asyncio.wait_for(rc.start(_ws_url(), bot["username"], bot["password"]), TIMEOUT)
            assert rc.user_id == bot["id"]

            channels = await asyncio.wait_for(rc.get_channels(), TIMEOUT)
            assert (rid, "c") in channels, channels

            await asyncio.wait_for(rc.subscribe_to_channel_messages(rid, on_message), TIMEOUT)
            # The package does not wait for "ready": one round trip makes sure the sub is live.
            await asyncio.wait_for(rc.get_channels(), TIMEOUT)

            posted = await asyncio.to_thread(
                _post, human_headers, "chat.postMessage", {"roomId": rid, "text": question}
            )
            posted_id = posted["message"]["_id"]

            got = await next_message(lambda m: m["text"] == question)
            assert got["rid"] == rid
            assert got["sender"] == human["id"]
            assert got["id"] == posted_id
            assert got["tmid"] is None
            assert got["t"] is None

            await asyncio.wait_for(rc.send_message(answer, rid), TIMEOUT)
            # The bot's own answer comes back on its subscription too.
            echo = await next_message(lambda m: m["text"] == answer)
            assert echo["sender"] == bot["id"]
            assert echo["rid"] == rid
        finally:
            await _stop(rc)

    _run(main())

    # Over REST, as the other user: the answer is in the room, from the bot, after the question.
    msgs = _get(human_headers, "channels.messages", {"roomId": rid, "count": 50})["messages"]
    texts = [(m["msg"], m["u"]["_id"], m["u"]["username"]) for m in msgs]
    assert (answer, bot["id"], bot["username"]) in texts, texts
    assert (question, human["id"], human["username"]) in texts, texts
    hist = _get(human_headers, "channels.history", {"roomId": rid, "count": 50})["messages"]
    order = [m["msg"] for m in hist if m["msg"] in (question, answer)]
    assert order == [answer, question], order  # newest first


def test_resume_with_rest_token():
    _, _, admin_headers = _admin()
    user = _create_user(admin_headers, "rcaresume")
    headers = _login(user["username"], user["password"])

    async def main():
        rc = RocketChat()
        try:
            await asyncio.wait_for(rc.resume(_ws_url(), user["username"], headers["X-Auth-Token"]), TIMEOUT)
            assert rc.user_id == user["id"]
            await asyncio.wait_for(rc.get_channels(), TIMEOUT)
        finally:
            await _stop(rc)

    _run(main())


def test_bot_sees_reactions_pins_thread_replies_and_room_changes():
    """A bot subscribed through the package's own subscriptions sees what a bot reacts to: a
    reaction and a pin changing a message, the pin's note, a thread reply, and its room list
    updated per message with the room's lastMessage."""
    _, _, admin_headers = _admin()
    bot = _create_user(admin_headers, "rcarbot")
    owner_headers = admin_headers
    channel = f"rcr-{secrets.token_hex(4)}"
    rid = _post(owner_headers, "channels.create", {"name": channel})["channel"]["_id"]
    _post(owner_headers, "channels.invite", {"roomId": rid, "userId": bot["id"]})

    async def main():
        raw: asyncio.Queue = asyncio.Queue()
        changes: asyncio.Queue = asyncio.Queue()

        async def next_from(queue, pred):
            while True:
                item = await asyncio.wait_for(queue.get(), TIMEOUT)
                if pred(item):
                    return item

        rc = RocketChat()
        try:
            await asyncio.wait_for(rc.start(_ws_url(), bot["username"], bot["password"]), TIMEOUT)
            await asyncio.wait_for(rc.subscribe_to_channel_messages_raw(rid, raw.put_nowait), TIMEOUT)
            await asyncio.wait_for(rc.subscribe_to_channel_changes_raw(changes.put_nowait), TIMEOUT)
            await asyncio.wait_for(rc.get_channels(), TIMEOUT)

            text = f"react to me {secrets.token_hex(4)}"
            mid = (await asyncio.to_thread(
                _post, owner_headers, "chat.postMessage", {"roomId": rid, "text": text}
            ))["message"]["_id"]
            got = await next_from(raw, lambda m: m.get("_id") == mid)
            assert got["msg"] == text
            # Its room list hears of the room with the new last message.
            change = await next_from(
                changes, lambda p: p[0] == "updated" and p[1].get("lastMessage", {}).get("_id") == mid
            )
            assert change[1]["_id"] == rid

            await asyncio.to_thread(_post, owner_headers, "chat.react", {"messageId": mid, "emoji": "tada"})
            reacted = await next_from(raw, lambda m: m.get("_id") == mid and m.get("reactions"))
            assert ":tada:" in reacted["reactions"]

            await asyncio.to_thread(_post, owner_headers, "chat.pinMessage", {"messageId": mid})
            pinned = await next_from(raw, lambda m: m.get("_id") == mid and m.get("pinned") is True)
            assert pinned["pinnedBy"]["_id"]
            note = await next_from(raw, lambda m: m.get("t") == "message_pinned")
            assert note["attachments"][0]["text"] == text

            reply = f"in thread {secrets.token_hex(4)}"
            await asyncio.to_thread(
                _post, owner_headers, "chat.postMessage", {"roomId": rid, "text": reply, "tmid": mid}
            )
            threaded = await next_from(raw, lambda m: m.get("msg") == reply)
            assert threaded["tmid"] == mid
            counted = await next_from(raw, lambda m: m.get("_id") == mid and m.get("tcount") == 1)
            assert counted["tlm"]

            # The bot answers in the thread and reacts, over the websocket.
            await asyncio.wait_for(rc.send_message("bot answer", rid, thread_id=mid), TIMEOUT)
            answer = await next_from(raw, lambda m: m.get("msg") == "bot answer")
            assert answer["tmid"] == mid
            await asyncio.wait_for(rc.send_reaction(mid, ":thumbsup:"), TIMEOUT)
            await next_from(raw, lambda m: m.get("_id") == mid and ":thumbsup:" in (m.get("reactions") or {}))
        finally:
            await _stop(rc)

    _run(main())

    # Over REST: the thread holds both replies, and the reply did not become the last message.
    thread = _get(owner_headers, "chat.getThreadMessages", {"tmid": _get(
        owner_headers, "chat.getThreadsList", {"rid": rid}
    )["threads"][0]["_id"]})["messages"]
    assert [m["msg"] for m in thread][-1] == "bot answer"
    info = _get(owner_headers, "channels.info", {"roomId": rid})["channel"]
    assert info["lastMessage"]["t"] == "message_pinned", info["lastMessage"]
