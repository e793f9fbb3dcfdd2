"""Real-client compatibility test: drive a running Huddle with ``rocketchat_API`` from PyPI.

The package (pinned in requirements.txt) is a Rocket.Chat client nobody on this project wrote. If
Huddle speaks Rocket.Chat's REST API the way the seeds (001-003) and shared/reference/rocketchat.md
describe, this file passes unchanged; every assertion below is what Rocket.Chat itself answers.

Environment (run.sh sets all of it when it starts the server itself):
  HUDDLE_URL              base URL, e.g. http://127.0.0.1:3000 (no trailing /api)
  HUDDLE_ADMIN_USERNAME   an admin the server already has
  HUDDLE_ADMIN_PASSWORD   its password
  HUDDLE_ADMIN_EMAIL      optional; when set, /me must report it as emails[0].address

How the package talks to the server (read from rocketchat_API 3.7.1's source):
  * ``RocketChat(user, password, server_url=...)`` POSTs /api/v1/login with JSON
    ``{"username": user, "password": pw}`` -- or ``{"user": user, "password": pw}`` when ``user`` looks
    like a lower-case e-mail address. No auth headers on that request. 401 -> RocketAuthenticationException;
    200 with ``status == "success"`` -> it keeps ``data.authToken``/``data.userId`` and sends them as
    ``X-Auth-Token``/``X-User-Id`` on every later call; anything else -> RocketConnectionException.
    The constructor calls nothing else (no /api/info).
  * POST bodies are JSON objects built from the keyword arguments (lists stay JSON arrays).
  * GET query strings are built by hand: ``?k=v&k2=v2`` (always a ``?``, even with no parameter, e.g.
    ``GET /api/info?``), list values as ``k[]=a&k[]=b``, values not URL-encoded.
  * ``@paginated`` methods (channels_members, groups_members, ...) return a generator over the items,
    not the response; they always send ``offset`` and ``count`` (default 0 and 50) and keep asking with
    ``offset += count`` while a full page comes back. To see ``count``/``offset``/``total`` we use the
    package's generic ``call_api_get``.
  * Any status outside 200-399 raises: RocketApiException (body is JSON with ``success: false``; it
    carries ``status_code`` and ``response_json``) or RocketBadStatusCodeException (anything else,
    e.g. the 401 body, which has no ``success`` field; ``response_json`` is still parsed).
  * ``channels_invite``/``groups_invite(room_id, user_id, **kw)`` always send ``roomId`` and ``userId``;
    there is no dedicated method for ``userIds``/``usernames``/``roomName``. For those we use the
    package's generic ``call_api_post(endpoint, **params)`` (what its own methods call), and one test
    uses the kwargs the methods forward (``groups_invite(rid, None, userIds=[...])``, which sends
    ``"userId": null``; Rocket.Chat drops falsy user params).
  * There is no ``im_create`` in this version: ``dm_create(username)`` POSTs /api/v1/dm.create
    (Rocket.Chat's alias of im.create); im.create itself is reached through ``call_api_post``.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
import requests
from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketAuthenticationException,
    RocketBadStatusCodeException,
)
from rocketchat_API.rocketchat import RocketChat

TIMEOUT = 30

# ---------------------------------------------------------------------------------------------
# Exact Rocket.Chat error bodies (seed 003 and reference §1.3, §4.2, §4.3, §5.2, §6.1, §2.2).
# Compared with ==, so an extra key (``"details": null``, ``"stack"``) is a failure too.
# ---------------------------------------------------------------------------------------------
ERR_ROOM_PARAM = {
    "success": False,
    "error": 'The parameter "roomId" or "roomName" is required [error-room-param-not-provided]',
    "errorType": "error-room-param-not-provided",
}
ERR_USERS_PARAMS = {
    "success": False,
    "error": 'Please provide "userId" or "username" or "userIds" or "usernames" as param '
    "[error-users-params-not-provided]",
    "errorType": "error-users-params-not-provided",
}
ERR_NOT_ALLOWED_ADD = {
    "success": False,
    "error": "Not allowed [error-not-allowed]",
    "errorType": "error-not-allowed",
    "details": {"method": "addUsersToRoom"},
}
ERR_GROUP_NOT_FOUND = {
    "success": False,
    "error": 'The required "roomId" or "roomName" param provided does not match any group '
    "[error-room-not-found]",
    "errorType": "error-room-not-found",
}
ERR_CHANNEL_NOT_FOUND = {
    "success": False,
    "error": 'The required "roomId" or "roomName" param provided does not match any channel '
    "[error-room-not-found]",
    "errorType": "error-room-not-found",
}
ERR_EMPTY_INVITE = {
    "success": False,
    "error": "Cannot invite if no valid users are provided [error-empty-invite-list]",
    "errorType": "error-empty-invite-list",
}
ERR_UNAUTHENTICATED = {"status": "error", "message": "You must be logged in to do this."}

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
# Never sent in a room payload (reference §5: API.v1.defaultFieldsToExclude).
EXCLUDED_ROOM_FIELDS = ("joinCode", "members", "importIds", "e2e")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def unique(prefix: str) -> str:
    """A fresh, valid Rocket.Chat name ([0-9a-zA-Z-_.]+), lower case so it is also e-mail-safe."""
    return f"hc{prefix}{uuid.uuid4().hex[:12]}"


def api_error(fn, *args, **kwargs) -> tuple[int, dict]:
    """Call a client method that must fail; return (HTTP status, parsed JSON body)."""
    with pytest.raises((RocketApiException, RocketBadStatusCodeException)) as info:
        fn(*args, **kwargs)
    exc = info.value
    assert exc.response_json is not None, f"error body is not JSON: {exc.response!r}"
    return exc.status_code, exc.response_json


def assert_json_response(resp: requests.Response) -> None:
    media_type = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
    assert media_type == "application/json", resp.headers.get("Content-Type")


def assert_room_payload(room: dict, *, rid: str | None = None, t: str, name: str | None = None) -> None:
    """Fields every channel/group payload carries (seeds 001-003, reference §8.1)."""
    assert isinstance(room.get("_id"), str) and room["_id"], room
    if rid is not None:
        assert room["_id"] == rid, room
    assert room["t"] == t, room
    if name is not None:
        assert room["name"] == name, room
    assert isinstance(room["msgs"], int) and not isinstance(room["msgs"], bool), room
    assert isinstance(room["usersCount"], int) and not isinstance(room["usersCount"], bool), room
    assert ISO_DATE.match(room["ts"]), room["ts"]
    assert ISO_DATE.match(room["_updatedAt"]), room["_updatedAt"]
    for field in EXCLUDED_ROOM_FIELDS:
        assert field not in room, f"{field} must not be sent: {room}"


def channel_counters(client: RocketChat, rid: str) -> tuple[int, int]:
    info = client.channels_info(room_id=rid)
    assert info["success"] is True
    return info["channel"]["msgs"], info["channel"]["usersCount"]


def group_counters(client: RocketChat, rid: str) -> tuple[int, int]:
    info = client.groups_info(room_id=rid)
    assert info["success"] is True
    return info["group"]["msgs"], info["group"]["usersCount"]


def member_usernames(page: dict) -> set[str]:
    return {m["username"] for m in page["members"]}


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def huddle_url() -> str:
    url = os.environ.get("HUDDLE_URL", "").rstrip("/")
    if not url:
        pytest.fail("HUDDLE_URL is not set: run tests/client/run.sh, or point it at a running Huddle")
    return url


@pytest.fixture(scope="session")
def admin_creds() -> dict:
    username = os.environ.get("HUDDLE_ADMIN_USERNAME")
    password = os.environ.get("HUDDLE_ADMIN_PASSWORD")
    if not username or not password:
        pytest.fail("HUDDLE_ADMIN_USERNAME and HUDDLE_ADMIN_PASSWORD must be set")
    return {"username": username, "password": password, "email": os.environ.get("HUDDLE_ADMIN_EMAIL")}


@pytest.fixture(scope="session")
def admin(huddle_url, admin_creds) -> RocketChat:
    """The admin, logged in the way the package's users do it: through the constructor."""
    return RocketChat(admin_creds["username"], admin_creds["password"], server_url=huddle_url, timeout=TIMEOUT)


@pytest.fixture(scope="session")
def admin_id(admin) -> str:
    return admin.headers["X-User-Id"]


@pytest.fixture(scope="session")
def users(admin) -> list[dict]:
    """Two ordinary users made by the admin with users_create (email, name, password, username)."""
    made = []
    for i in (1, 2):
        username = unique(f"u{i}")
        spec = {
            "email": f"{username}@example.com",
            "name": f"Client Test {i}",
            "password": f"pw-{uuid.uuid4().hex}",
            "username": username,
        }
        resp = admin.users_create(spec["email"], spec["name"], spec["password"], spec["username"])
        made.append({**spec, "id": resp["user"]["_id"], "create_response": resp})
    return made


@pytest.fixture(scope="session")
def user1(users) -> dict:
    return users[0]


@pytest.fixture(scope="session")
def user2(users) -> dict:
    return users[1]


@pytest.fixture(scope="session")
def user1_client(huddle_url, user1) -> RocketChat:
    return RocketChat(user1["username"], user1["password"], server_url=huddle_url, timeout=TIMEOUT)


@pytest.fixture(scope="session")
def user2_client(huddle_url, user2) -> RocketChat:
    return RocketChat(user2["username"], user2["password"], server_url=huddle_url, timeout=TIMEOUT)


@pytest.fixture
def channel(admin) -> dict:
    """A fresh public channel created by the admin (its owner). Returns the ``channel`` payload."""
    name = unique("c")
    resp = admin.channels_create(name)
    assert resp["success"] is True, resp
    return resp["channel"]


@pytest.fixture
def group(admin) -> dict:
    """A fresh private group created by the admin (its owner). Returns the ``group`` payload."""
    name = unique("g")
    resp = admin.groups_create(name)
    assert resp["success"] is True, resp
    return resp["group"]


@pytest.fixture
def anonymous(huddle_url) -> RocketChat:
    """The package with no login at all: it sends no auth headers."""
    return RocketChat(server_url=huddle_url, timeout=TIMEOUT)


# ---------------------------------------------------------------------------------------------
# server info, login, me
# ---------------------------------------------------------------------------------------------
def test_info_without_login(anonymous, huddle_url):
    # The package calls GET /api/info? (not /api/v1/info): unauthenticated, Rocket.Chat answers
    # {"version": "...", "success": true}.
    info = anonymous.info()
    assert info["success"] is True, info
    assert isinstance(info["version"], str) and info["version"], info

    raw = requests.get(f"{huddle_url}/api/info", timeout=TIMEOUT)
    assert raw.status_code == 200, raw.text
    assert_json_response(raw)
    assert raw.json()["success"] is True


def test_info_as_admin(admin):
    info = admin.info()
    assert info["success"] is True, info
    # Newer Rocket.Chat returns {version, ...}; older ones gave admins {info: {version, ...}}.
    assert "version" in info or "version" in info.get("info", {}), info


def test_admin_login_response(huddle_url, admin_creds):
    rc = RocketChat(server_url=huddle_url, timeout=TIMEOUT)
    body = rc.login(admin_creds["username"], admin_creds["password"])  # sends {"username", "password"}
    assert body["status"] == "success", body
    data = body["data"]
    assert isinstance(data["userId"], str) and data["userId"], body
    assert isinstance(data["authToken"], str) and data["authToken"], body
    assert data["me"]["_id"] == data["userId"], body
    assert data["me"]["username"] == admin_creds["username"], body
    assert rc.headers == {"X-Auth-Token": data["authToken"], "X-User-Id": data["userId"]}
    # The fresh token works.
    assert rc.me()["_id"] == data["userId"]


def test_admin_me(admin, admin_id, admin_creds):
    me = admin.me()
    assert me["success"] is True, me
    assert me["_id"] == admin_id
    assert me["username"] == admin_creds["username"]
    assert me["active"] is True
    assert "admin" in me["roles"], me
    if admin_creds["email"]:
        assert me["emails"][0]["address"] == admin_creds["email"], me
    text = repr(me)
    assert admin_creds["password"] not in text
    assert "$argon2" not in text, "password hash leaked in /me"


def test_login_with_wrong_password(huddle_url, admin_creds):
    with pytest.raises(RocketAuthenticationException):  # the package maps 401 to this
        RocketChat(admin_creds["username"], "definitely-not-the-password", server_url=huddle_url, timeout=TIMEOUT)

    raw = requests.post(
        f"{huddle_url}/api/v1/login",
        json={"username": admin_creds["username"], "password": "definitely-not-the-password"},
        timeout=TIMEOUT,
    )
    assert raw.status_code == 401, raw.text
    assert_json_response(raw)
    body = raw.json()
    assert body["status"] == "error", body
    assert body["message"] == "Incorrect password", body
    assert "data" not in body


# ---------------------------------------------------------------------------------------------
# users
# ---------------------------------------------------------------------------------------------
def test_users_create(users):
    ids = set()
    for u in users:
        resp = u["create_response"]
        assert resp["success"] is True, resp
        user = resp["user"]
        assert isinstance(user["_id"], str) and user["_id"], user
        assert user["username"] == u["username"], user
        assert user["name"] == u["name"], user
        assert user["active"] is True, user
        text = repr(resp)
        assert u["password"] not in text, "password echoed back by users.create"
        assert "$argon2" not in text, "password hash leaked by users.create"
        ids.add(user["_id"])
    assert len(ids) == 2


def test_user_logs_in_with_own_client(user1_client, user1):
    me = user1_client.me()
    assert me["success"] is True, me
    assert me["_id"] == user1["id"]
    assert me["username"] == user1["username"]
    assert me["name"] == user1["name"]
    assert "user" in me["roles"], me
    assert "admin" not in me["roles"], me


def test_user_logs_in_by_email(huddle_url, user2):
    # The address is lower case, so the package sends {"user": "<email>", "password": ...} (reference
    # §2.3: a `user` containing '@' is an e-mail).
    rc = RocketChat(user2["email"], user2["password"], server_url=huddle_url, timeout=TIMEOUT)
    me = rc.me()
    assert me["_id"] == user2["id"]
    assert me["username"] == user2["username"]


# ---------------------------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------------------------
def test_channels_create(admin, admin_id, admin_creds):
    name = unique("c")
    resp = admin.channels_create(name)
    assert resp["success"] is True, resp
    ch = resp["channel"]
    assert_room_payload(ch, t="c", name=name)
    assert ch["msgs"] == 0, ch  # no system message on creation
    assert ch["usersCount"] == 1, ch  # the creator
    assert ch["u"]["_id"] == admin_id, ch
    assert ch["u"]["username"] == admin_creds["username"], ch
    # Same room through channels.info, by id and by name.
    assert admin.channels_info(room_id=ch["_id"])["channel"]["_id"] == ch["_id"]
    assert admin.channels_info(channel=name)["channel"]["_id"] == ch["_id"]


def test_groups_create(admin, admin_id):
    name = unique("g")
    resp = admin.groups_create(name)
    assert resp["success"] is True, resp
    grp = resp["group"]
    assert_room_payload(grp, t="p", name=name)
    assert grp["msgs"] == 0, grp
    assert grp["usersCount"] == 1, grp
    assert grp["u"]["_id"] == admin_id, grp
    assert admin.groups_info(room_id=grp["_id"])["group"]["_id"] == grp["_id"]
    assert admin.groups_info(room_name=name)["group"]["_id"] == grp["_id"]


# ---------------------------------------------------------------------------------------------
# channels.invite (seed 001)
# ---------------------------------------------------------------------------------------------
def test_channels_invite_single_user(admin, channel, user1):
    rid = channel["_id"]
    msgs_before, count_before = channel_counters(admin, rid)

    resp = admin.channels_invite(rid, user1["id"])  # {"roomId", "userId"}
    assert resp["success"] is True, resp
    ch = resp["channel"]
    assert_room_payload(ch, rid=rid, t="c", name=channel["name"])
    assert ch["msgs"] == msgs_before + 1, ch  # exactly one system message
    assert ch["usersCount"] == count_before + 1, ch

    # The answer matches what the server now stores.
    assert channel_counters(admin, rid) == (msgs_before + 1, count_before + 1)


def test_channels_invite_same_user_again_changes_nothing(admin, channel, user1):
    rid = channel["_id"]
    admin.channels_invite(rid, user1["id"])
    msgs_before, count_before = channel_counters(admin, rid)

    resp = admin.channels_invite(rid, user1["id"])  # already a member: still a success
    assert resp["success"] is True, resp
    assert_room_payload(resp["channel"], rid=rid, t="c", name=channel["name"])
    assert resp["channel"]["msgs"] == msgs_before, resp
    assert resp["channel"]["usersCount"] == count_before, resp
    assert channel_counters(admin, rid) == (msgs_before, count_before)

    page = admin.call_api_get("channels.members", roomId=rid)
    assert [m["username"] for m in page["members"]].count(user1["username"]) == 1


def test_channels_invite_bulk_user_ids(admin, channel, user1, user2):
    rid = channel["_id"]
    msgs_before, count_before = channel_counters(admin, rid)
    # channels_invite() has no userIds parameter: the package's generic POST sends the body as given.
    resp = admin.call_api_post("channels.invite", roomId=rid, userIds=[user1["id"], user2["id"]])
    assert resp["success"] is True, resp
    assert_room_payload(resp["channel"], rid=rid, t="c", name=channel["name"])
    assert resp["channel"]["msgs"] == msgs_before + 2, resp  # one system message per added user
    assert resp["channel"]["usersCount"] == count_before + 2, resp


def test_channels_members(admin, admin_creds, channel, user1, user2):
    rid = channel["_id"]
    admin.channels_invite(rid, user1["id"])
    admin.channels_invite(rid, user2["id"])
    everyone = {admin_creds["username"], user1["username"], user2["username"]}

    page = admin.call_api_get("channels.members", roomId=rid)
    assert page["success"] is True, page
    assert member_usernames(page) == everyone, page
    assert page["count"] == 3 and page["offset"] == 0 and page["total"] == 3, page
    for m in page["members"]:
        assert isinstance(m["_id"], str) and m["_id"], m
        assert "services" not in m and "emails" not in m, m
    by_name = {m["username"]: m for m in page["members"]}
    assert by_name[user1["username"]]["_id"] == user1["id"]
    assert by_name[user1["username"]]["name"] == user1["name"]

    # Pages of one: disjoint, each reporting the same total.
    seen = []
    for offset in range(3):
        p = admin.call_api_get("channels.members", roomId=rid, count=1, offset=offset)
        assert p["count"] == 1 and p["offset"] == offset and p["total"] == 3, p
        seen += [m["username"] for m in p["members"]]
    assert sorted(seen) == sorted(everyone)
    past_end = admin.call_api_get("channels.members", roomId=rid, count=1, offset=3)
    assert past_end["members"] == [] and past_end["count"] == 0 and past_end["total"] == 3, past_end

    # The package's own paginated iterator (offset/count sent on every request), by id and by name.
    assert {m["username"] for m in admin.channels_members(room_id=rid)} == everyone
    assert {m["username"] for m in admin.channels_members(channel=channel["name"], count=1)} == everyone


def test_channels_kick(admin, channel, user1, user2):
    rid = channel["_id"]
    admin.call_api_post("channels.invite", roomId=rid, userIds=[user1["id"], user2["id"]])
    msgs_before, count_before = channel_counters(admin, rid)
    total_before = admin.call_api_get("channels.members", roomId=rid)["total"]

    resp = admin.channels_kick(rid, user1["id"])
    assert resp["success"] is True, resp
    assert_room_payload(resp["channel"], rid=rid, t="c", name=channel["name"])
    assert resp["channel"]["msgs"] == msgs_before + 1, resp  # one `ru` message
    assert resp["channel"]["usersCount"] == count_before - 1, resp
    assert channel_counters(admin, rid) == (msgs_before + 1, count_before - 1)

    page = admin.call_api_get("channels.members", roomId=rid)
    assert page["total"] == total_before - 1, page
    assert user1["username"] not in member_usernames(page)
    assert user2["username"] in member_usernames(page)


def test_channels_leave_by_invited_user(admin, user1_client, channel, user1):
    rid = channel["_id"]
    admin.channels_invite(rid, user1["id"])
    msgs_before, count_before = channel_counters(admin, rid)

    resp = user1_client.channels_leave(rid)  # the member's own client
    assert resp["success"] is True, resp
    assert resp["channel"]["_id"] == rid
    assert resp["channel"]["t"] == "c"
    assert channel_counters(admin, rid) == (msgs_before + 1, count_before - 1)  # one `ul` message
    assert user1["username"] not in member_usernames(admin.call_api_get("channels.members", roomId=rid))

    # Leaving again: no longer in the room.
    status, body = api_error(user1_client.channels_leave, rid)
    assert status == 400, body
    assert body["success"] is False and body["errorType"] == "error-user-not-in-room", body
    assert channel_counters(admin, rid) == (msgs_before + 1, count_before - 1)


def test_channels_invite_without_user_params(admin, channel):
    rid = channel["_id"]
    before = channel_counters(admin, rid)
    status, body = api_error(admin.call_api_post, "channels.invite", roomId=rid)
    assert status == 400
    assert body == ERR_USERS_PARAMS
    assert channel_counters(admin, rid) == before


# ---------------------------------------------------------------------------------------------
# groups.invite (seeds 002, 003)
# ---------------------------------------------------------------------------------------------
def test_groups_invite_single_user_via_client_method(admin, group, user1):
    rid = group["_id"]
    msgs_before, count_before = group_counters(admin, rid)
    resp = admin.groups_invite(rid, user1["id"])  # {"roomId", "userId"}
    assert resp["success"] is True, resp
    grp = resp["group"]
    assert_room_payload(grp, rid=rid, t="p", name=group["name"])
    assert grp["msgs"] == msgs_before + 1, grp
    assert grp["usersCount"] == count_before + 1, grp
    assert group_counters(admin, rid) == (msgs_before + 1, count_before + 1)


def test_groups_invite_bulk_user_ids(admin, group, user1, user2):
    rid = group["_id"]
    msgs_before, count_before = group_counters(admin, rid)
    # groups_invite() has no userIds parameter: generic POST with {"roomId", "userIds": [...]}.
    resp = admin.call_api_post("groups.invite", roomId=rid, userIds=[user1["id"], user2["id"]])
    assert resp["success"] is True, resp
    grp = resp["group"]
    assert_room_payload(grp, rid=rid, t="p", name=group["name"])
    assert grp["msgs"] == msgs_before + 2, grp
    assert grp["usersCount"] == count_before + 2, grp
    assert group_counters(admin, rid) == (msgs_before + 2, count_before + 2)

    # Again: everyone is already in, nothing changes.
    again = admin.call_api_post("groups.invite", roomId=rid, userIds=[user1["id"], user2["id"]])
    assert again["success"] is True, again
    assert (again["group"]["msgs"], again["group"]["usersCount"]) == (msgs_before + 2, count_before + 2)
    assert group_counters(admin, rid) == (msgs_before + 2, count_before + 2)


def test_groups_invite_forwarded_kwargs_with_null_user_id(admin, group, user1, user2):
    # What a user of the package naturally writes for a bulk invite: the method's positional user_id
    # is None and userIds rides along as a forwarded kwarg, so the body is
    # {"roomId": rid, "userId": null, "userIds": [...]}. Rocket.Chat ignores the falsy userId.
    rid = group["_id"]
    msgs_before, count_before = group_counters(admin, rid)
    resp = admin.groups_invite(rid, None, userIds=[user1["id"], user2["id"]])
    assert resp["success"] is True, resp
    assert resp["group"]["msgs"] == msgs_before + 2, resp
    assert resp["group"]["usersCount"] == count_before + 2, resp


def test_groups_invite_by_room_name_and_username(admin, group, user1):
    rid = group["_id"]
    msgs_before, count_before = group_counters(admin, rid)
    resp = admin.call_api_post("groups.invite", roomName=group["name"], username=user1["username"])
    assert resp["success"] is True, resp
    grp = resp["group"]
    assert_room_payload(grp, rid=rid, t="p", name=group["name"])
    assert grp["msgs"] == msgs_before + 1, grp
    assert grp["usersCount"] == count_before + 1, grp
    assert user1["username"] in member_usernames(admin.call_api_get("groups.members", roomId=rid))


def test_groups_invite_usernames_list(admin, group, user1, user2):
    rid = group["_id"]
    admin.groups_invite(rid, user1["id"])
    msgs_before, count_before = group_counters(admin, rid)
    # user1 is already in: only user2 is added, so one system message and one more member.
    resp = admin.call_api_post(
        "groups.invite", roomName=group["name"], usernames=[user1["username"], user2["username"]]
    )
    assert resp["success"] is True, resp
    grp = resp["group"]
    assert_room_payload(grp, rid=rid, t="p", name=group["name"])
    assert grp["msgs"] == msgs_before + 1, grp
    assert grp["usersCount"] == count_before + 1, grp
    assert group_counters(admin, rid) == (msgs_before + 1, count_before + 1)


def test_groups_members(admin, admin_creds, group, user1, user2):
    rid = group["_id"]
    admin.call_api_post("groups.invite", roomId=rid, userIds=[user1["id"], user2["id"]])
    everyone = {admin_creds["username"], user1["username"], user2["username"]}

    page = admin.call_api_get("groups.members", roomId=rid)
    assert page["success"] is True, page
    assert member_usernames(page) == everyone, page
    assert page["count"] == 3 and page["offset"] == 0 and page["total"] == 3, page

    p = admin.call_api_get("groups.members", roomId=rid, count=2, offset=1)
    assert p["count"] == 2 and p["offset"] == 1 and p["total"] == 3, p
    assert len(p["members"]) == 2

    assert {m["username"] for m in admin.groups_members(room_id=rid)} == everyone
    assert {m["username"] for m in admin.groups_members(group=group["name"], count=1)} == everyone


def test_groups_invite_without_room_param(admin, user1):
    # No roomId/roomName key at all, and both present but empty: seed 003's first 400.
    status, body = api_error(admin.call_api_post, "groups.invite", userId=user1["id"])
    assert status == 400
    assert body == ERR_ROOM_PARAM
    status, body = api_error(admin.call_api_post, "groups.invite", roomId="", roomName="", userId=user1["id"])
    assert status == 400
    assert body == ERR_ROOM_PARAM


def test_groups_invite_without_user_params(admin, group):
    rid = group["_id"]
    before = group_counters(admin, rid)
    status, body = api_error(admin.call_api_post, "groups.invite", roomId=rid)
    assert status == 400
    assert body == ERR_USERS_PARAMS
    assert group_counters(admin, rid) == before


def test_groups_invite_only_unknown_users(admin, group):
    # Unknown ids are dropped silently; none left -> error-empty-invite-list (reference §5.2).
    rid = group["_id"]
    before = group_counters(admin, rid)
    status, body = api_error(admin.call_api_post, "groups.invite", roomId=rid, userIds=["no-such-user-id-xyz"])
    assert status == 400
    assert body == ERR_EMPTY_INVITE
    assert group_counters(admin, rid) == before


def test_groups_invite_unknown_room_and_public_channel(admin, channel, user1):
    status, body = api_error(admin.groups_invite, "no-such-room-id-xyz", user1["id"])
    assert status == 400
    assert body == ERR_GROUP_NOT_FOUND
    # A public channel is not a group.
    status, body = api_error(admin.groups_invite, channel["_id"], user1["id"])
    assert status == 400
    assert body == ERR_GROUP_NOT_FOUND
    assert user1["username"] not in member_usernames(
        admin.call_api_get("channels.members", roomId=channel["_id"])
    )


def test_groups_invite_by_normal_non_member(admin, user1_client, group, user2):
    # user1 is neither a member of the group nor an admin: seed 003's "Not allowed".
    rid = group["_id"]
    before = group_counters(admin, rid)
    status, body = api_error(user1_client.groups_invite, rid, user2["id"])
    assert status == 400
    assert body == ERR_NOT_ALLOWED_ADD
    assert group_counters(admin, rid) == before
    assert user2["username"] not in member_usernames(admin.call_api_get("groups.members", roomId=rid))


# ---------------------------------------------------------------------------------------------
# direct messages
# ---------------------------------------------------------------------------------------------
def test_dm_create_then_invite_into_it_fails(admin, admin_id, user1_client, user1, user2):
    resp = user1_client.dm_create(user2["username"])  # POST dm.create {"username"}
    assert resp["success"] is True, resp
    room = resp["room"]
    rid = room["_id"]
    assert room["t"] == "d", room
    assert room["rid"] == rid, room
    assert sorted(room["usernames"]) == sorted([user1["username"], user2["username"]]), room
    assert room["usersCount"] == 2, room
    assert room["msgs"] == 0, room

    # im.create is the same endpoint under its older name, and returns the existing DM.
    again = user1_client.call_api_post("im.create", username=user2["username"])
    assert again["success"] is True, again
    assert again["room"]["_id"] == rid, again

    # groups.invite looks the room up by id or name and requires t == 'p' before it ever reaches
    # addUsersToRoom, so a DM answers error-room-not-found -- not addUsersToRoom's
    # error-cant-invite-for-direct-room (reference §4.2/§5.2, Rocket.Chat groups.ts).
    status, body = api_error(user1_client.groups_invite, rid, admin_id)
    assert status == 400
    assert body == ERR_GROUP_NOT_FOUND
    status, body = api_error(admin.groups_invite, rid, admin_id)
    assert status == 400
    assert body == ERR_GROUP_NOT_FOUND
    # Likewise channels.invite: findChannelByIdOrName accepts only t in {c, l}.
    status, body = api_error(user1_client.channels_invite, rid, admin_id)
    assert status == 400
    assert body == ERR_CHANNEL_NOT_FOUND


# ---------------------------------------------------------------------------------------------
# unauthenticated
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, endpoint",
    [
        ("POST", "groups.invite"),
        ("POST", "channels.invite"),
        ("POST", "channels.kick"),
        ("POST", "channels.leave"),
        ("GET", "channels.members"),
        ("GET", "me"),
    ],
)
def test_unauthenticated_is_401(huddle_url, group, user1, method, endpoint):
    url = f"{huddle_url}/api/v1/{endpoint}"
    params = {"roomId": group["_id"], "userId": user1["id"]}
    for headers in ({}, {"X-User-Id": user1["id"], "X-Auth-Token": "not-a-valid-token"}):
        if method == "POST":
            raw = requests.post(url, json=params, headers=headers, timeout=TIMEOUT)
        else:
            raw = requests.get(url, params=params, headers=headers, timeout=TIMEOUT)
        assert raw.status_code == 401, (headers, raw.status_code, raw.text)
        assert_json_response(raw)
        assert raw.json() == ERR_UNAUTHENTICATED, (headers, raw.text)


def test_unauthenticated_through_the_client(admin, anonymous, group, user1):
    rid = group["_id"]
    before = group_counters(admin, rid)
    status, body = api_error(anonymous.groups_invite, rid, user1["id"])
    assert status == 401
    assert body == ERR_UNAUTHENTICATED
    assert group_counters(admin, rid) == before


# ---------------------------------------------------------------------------------------------
# API parity (issue 14): reactions, pins, stars, threads, syncs, room settings, dm.*, rooms.*,
# preferences, avatars, reports -- each through the package's own method
# ---------------------------------------------------------------------------------------------
def test_reactions_pins_stars(admin, channel, user1, user1_client):
    rid = channel["_id"]
    admin.channels_invite(rid, user1["id"])
    msg = user1_client.chat_post_message("pin me", room_id=rid)["message"]
    assert admin.chat_react(msg["_id"], emoji="smile")["success"] is True
    got = admin.chat_get_message(msg["_id"])["message"]
    assert got["reactions"][":smile:"]["usernames"]
    pinned = admin.chat_pin_message(msg["_id"])
    assert pinned["message"]["t"] == "message_pinned"
    assert pinned["message"]["attachments"][0]["text"] == "pin me"
    listed = list(user1_client.chat_get_pinned_messages(rid))
    assert [m["_id"] for m in listed] == [msg["_id"]]
    # A plain member may not pin (pin-message: owners, moderators, admins).
    with pytest.raises(RocketApiException):
        user1_client.chat_unpin_message(msg["_id"])
    assert admin.chat_unpin_message(msg["_id"])["success"] is True
    assert user1_client.chat_star_message(msg["_id"])["success"] is True
    starred = list(user1_client.chat_get_starred_messages(rid))
    assert [m["_id"] for m in starred] == [msg["_id"]]
    assert user1_client.chat_unstar_message(msg["_id"])["success"] is True
    assert admin.chat_report_message(msg["_id"], "spam")["success"] is True


def test_threads_and_syncs(admin, channel, user1, user1_client):
    rid = channel["_id"]
    admin.channels_invite(rid, user1["id"])
    root = admin.chat_post_message("question", room_id=rid)["message"]
    since = root["ts"]
    reply = user1_client.chat_post_message("answer", room_id=rid, tmid=root["_id"])["message"]
    assert reply["tmid"] == root["_id"]
    assert admin.chat_get_message(root["_id"])["message"]["tcount"] == 1
    thread = list(admin.chat_get_thread_messages(root["_id"]))
    assert [m["msg"] for m in thread] == ["answer"]
    threads = list(admin.chat_get_threads_list(rid))
    assert [t["_id"] for t in threads] == [root["_id"]]
    assert user1_client.chat_unfollow_message(root["_id"])["success"] is True
    assert user1_client.chat_follow_message(root["_id"])["success"] is True
    # The package has no method for chat.syncThreadsList.
    synced = admin.call_api_get("chat.syncThreadsList", rid=rid, updatedSince=since)
    assert [t["_id"] for t in synced["threads"]["update"]] == [root["_id"]]
    sync = admin.chat_sync_thread_messages(root["_id"], since)
    assert [m["msg"] for m in sync["messages"]["update"]] == ["answer"]
    admin.chat_delete(rid, reply["_id"])
    deleted = list(admin.chat_get_deleted_messages(rid, since))
    assert deleted == [{"_id": reply["_id"]}]
    all_sync = admin.chat_sync_messages(rid, since)
    assert all_sync["result"]["deleted"][0]["_id"] == reply["_id"]
    found = list(admin.chat_search(rid, "QUESTION"))
    assert [m["_id"] for m in found] == [root["_id"]]
    admin.chat_post_message(f"hi @{user1['username']}", room_id=rid)
    mentions = list(user1_client.chat_get_mentioned_messages(rid))
    assert len(mentions) == 1
    by_channel = list(user1_client.channels_get_all_user_mentions_by_channel(rid))
    assert len(by_channel) == 1


def test_room_settings(admin, channel, group, user1, user1_client):
    rid, gid = channel["_id"], group["_id"]
    admin.channels_invite(rid, user1["id"])
    r = admin.channels_set_custom_fields(rid, {"team": "blue"})
    assert r["channel"]["customFields"] == {"team": "blue"}
    assert admin.groups_set_custom_fields({"k": "v"}, room_id=gid)["group"]["customFields"] == {"k": "v"}
    assert admin.call_api_post("channels.setPurpose", roomId=rid, purpose="plans")["purpose"] == "plans"
    assert admin.call_api_post("groups.setPurpose", roomId=gid, purpose="p")["purpose"] == "p"
    assert admin.channels_set_default(rid, True)["channel"]["default"] is True
    assert admin.channels_set_default(rid, False)["channel"]["default"] is False
    assert admin.groups_set_encrypted(gid, True)["encrypted"] is True
    assert user1_client.rooms_favorite(room_id=rid, favorite=True)["success"] is True
    assert "online" in admin.channels_online(rid)
    assert "online" in admin.groups_online(gid)
    files = admin.call_api_get("channels.files", roomId=rid)
    assert (files["files"], files["total"]) == ([], 0)
    assert admin.call_api_get("groups.files", roomId=gid)["files"] == []
    assert list(admin.channels_get_integrations(rid)) == []
    assert list(admin.groups_get_integrations(gid)) == []
    # A plain member may not edit the room.
    with pytest.raises(RocketApiException):
        user1_client.channels_set_custom_fields(rid, {"team": "red"})


def test_dm_and_rooms_admin(admin, user1, user1_client):
    dm = user1_client.dm_create(admin.me()["username"])
    rid = dm["room"]["_id"]
    assert user1_client.dm_set_topic(rid, "lunch")["topic"] == "lunch"
    assert user1_client.call_api_get("dm.files", roomId=rid)["files"] == []
    everyone = list(admin.dm_list_everyone())
    assert any(r["_id"] == rid for r in everyone)
    # Off by default, as in Rocket.Chat.
    with pytest.raises(RocketApiException):
        admin.dm_messages_others(rid)
    rooms = list(admin.rooms_admin_rooms())
    assert len(rooms) >= 1
    msg = user1_client.chat_post_message("to clean", room_id=rid)["message"]
    cleaned = admin.rooms_clean_history(rid, "2100-01-01T00:00:00.000Z", "2000-01-01T00:00:00.000Z")
    assert cleaned["count"] >= 1
    with pytest.raises(RocketApiException):
        user1_client.dm_delete(rid)
    assert admin.dm_delete(rid)["success"] is True
    assert msg["_id"]


def test_preferences_avatars_forgot_password(huddle_url, admin, user1, user1_client, tmp_path):
    assert user1_client.users_get_preferences()["preferences"] == {}
    r = user1_client.users_set_preferences(user1["id"], {"language": "de"})
    assert r["user"]["settings"]["preferences"]["language"] == "de"
    assert user1_client.users_get_preferences()["preferences"] == {"language": "de"}
    png = tmp_path / "me.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    assert user1_client.users_set_avatar(str(png))["success"] is True
    image = requests.get(f"{huddle_url}/avatar/{user1['username']}", timeout=TIMEOUT)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert user1_client.users_set_avatar("https://example.com/a.png")["success"] is True
    assert user1_client.users_reset_avatar(user_id=user1["id"])["success"] is True
    image = requests.get(f"{huddle_url}/avatar/{user1['username']}", timeout=TIMEOUT)
    assert image.headers["content-type"] == "image/svg+xml"
    anonymous = RocketChat(server_url=huddle_url, timeout=TIMEOUT)
    assert anonymous.users_forgot_password("nobody@example.com")["success"] is True
    assert anonymous.users_forgot_password(user1["email"])["success"] is True


# ---------------------------------------------------------------------------------------------
# Discussions, ignoring, lastMessage, unread threads, invitation e-mails (issue 14, last part)
# ---------------------------------------------------------------------------------------------
def test_discussions(admin, group, user1, user1_client):
    gid = group["_id"]
    admin.groups_invite(gid, user1["id"])
    msg = user1_client.chat_post_message("let's discuss", room_id=gid)["message"]
    created = admin.rooms_create_discussion(gid, "Planning", pmid=msg["_id"], reply="kick-off")
    d = created["discussion"]
    assert d["prid"] == gid and d["fname"] == "Planning" and d["rid"] == d["_id"]
    # The message's author is in it; asking again for the same message hands back the same room.
    assert user1["username"] in {m["username"] for m in admin.groups_members(room_id=d["_id"])}
    again = admin.rooms_create_discussion(gid, "Planning", pmid=msg["_id"])
    assert again["discussion"]["_id"] == d["_id"]
    notes = list(user1_client.chat_get_discussions(gid))
    assert [m["drid"] for m in notes] == [d["_id"]]
    assert notes[0]["t"] == "discussion-created"
    assert notes[0]["dcount"] == 1
    # The package has no method for rooms.getDiscussions.
    listed = user1_client.call_api_get("rooms.getDiscussions", roomId=gid)
    assert [r["_id"] for r in listed["discussions"]] == [d["_id"]]
    status, body = api_error(admin.rooms_create_discussion, "nope", "x")
    assert status == 400 and body["errorType"] == "error-invalid-room"


def test_ignore_user(admin, group, user1, user1_client, admin_id):
    gid = group["_id"]
    admin.groups_invite(gid, user1["id"])
    # Rocket.Chat reads `ignore` as true when the text contains "true" or "1" (so Python's
    # str(True), "True", would unignore): the script passes the string.
    assert user1_client.chat_ignore_user(gid, admin_id, ignore="true")["success"] is True
    sub = user1_client.subscriptions_get_one(gid)["subscription"]
    assert sub["ignored"] == [admin_id]
    assert user1_client.chat_ignore_user(gid, admin_id, ignore="false")["success"] is True
    assert "ignored" not in user1_client.subscriptions_get_one(gid)["subscription"]
    status, body = api_error(user1_client.chat_ignore_user, gid, "nobody", ignore="true")
    assert status == 400 and body["errorType"] == "error-invalid-subscription"


def test_last_message_and_unread_threads(admin, channel, user1, user1_client):
    rid = channel["_id"]
    admin.channels_invite(rid, user1["id"])
    root = admin.chat_post_message("thread start", room_id=rid)["message"]
    user1_client.chat_post_message("in reply", room_id=rid, tmid=root["_id"])
    # A reply shown only in its thread is not the room's last message.
    assert admin.channels_info(room_id=rid)["channel"]["lastMessage"]["_id"] == root["_id"]
    latest = user1_client.chat_post_message("in the room", room_id=rid)["message"]
    info = admin.channels_info(room_id=rid)["channel"]
    assert info["lastMessage"]["_id"] == latest["_id"]
    assert info["lastMessage"]["u"]["username"] == user1["username"]
    assert admin.rooms_info(room_id=rid)["room"]["lastMessage"]["_id"] == latest["_id"]
    assert any(r["_id"] == rid and r["lastMessage"]["_id"] == latest["_id"] for r in admin.rooms_get()["update"])
    # The admin follows their thread and has a reply to read; the replier has none.
    unread = list(admin.chat_get_threads_list(rid, type="unread"))
    assert [t["_id"] for t in unread] == [root["_id"]]
    assert list(user1_client.chat_get_threads_list(rid, type="unread")) == []
    assert admin.subscriptions_read(rid, readThreads=True)["success"] is True
    assert list(admin.chat_get_threads_list(rid, type="unread")) == []
    # Deleting the last message makes the one before it the last.
    admin.chat_delete(rid, latest["_id"])
    assert admin.channels_info(room_id=rid)["channel"]["lastMessage"]["_id"] == root["_id"]


def test_invitation_email_without_a_mail_server(admin):
    # run.sh configures no [smtp]: Rocket.Chat's refusal (the sending itself is an API test).
    status, body = api_error(admin.send_invitation_email, ["someone@example.com"])
    assert status == 400
    assert body["error"] == "SMTP is not configured [error-email-send-failed]"
