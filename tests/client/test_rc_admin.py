"""Real-client test of the workspace-administration surface (issue 14): roles, permissions,
settings, invite links and room bans, driven with ``rocketchat_API`` 3.7.1's own methods where it
has them (``roles_*``, ``permissions_*``, ``settings_*``, ``find_or_create_invite`` and the other
invite methods) and its generic ``call_api_post``/``call_api_get`` where it has none (bans).

Same environment as test_rocketchat_api.py (run.sh sets it). Every expectation is what Rocket.Chat
answers.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest
from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketBadStatusCodeException,
)
from rocketchat_API.rocketchat import RocketChat

TIMEOUT = 30


def unique(prefix: str) -> str:
    return f"hc{prefix}{uuid.uuid4().hex[:12]}"


def api_error(fn, *args, **kwargs) -> tuple[int, dict]:
    with pytest.raises((RocketApiException, RocketBadStatusCodeException)) as info:
        fn(*args, **kwargs)
    exc = info.value
    assert exc.response_json is not None, f"error body is not JSON: {exc.response!r}"
    return exc.status_code, exc.response_json


@pytest.fixture(scope="module")
def huddle_url() -> str:
    url = os.environ.get("HUDDLE_URL", "").rstrip("/")
    if not url:
        pytest.fail("HUDDLE_URL is not set: run tests/client/run.sh")
    return url


@pytest.fixture(scope="module")
def admin(huddle_url) -> RocketChat:
    username = os.environ.get("HUDDLE_ADMIN_USERNAME")
    password = os.environ.get("HUDDLE_ADMIN_PASSWORD")
    if not username or not password:
        pytest.fail("HUDDLE_ADMIN_USERNAME and HUDDLE_ADMIN_PASSWORD must be set")
    return RocketChat(username, password, server_url=huddle_url, timeout=TIMEOUT)


def make_user(admin: RocketChat, huddle_url: str) -> tuple[dict, RocketChat]:
    username = unique("a")
    password = f"pw-{uuid.uuid4().hex}"
    resp = admin.users_create(f"{username}@example.com", f"Admin Test {username}", password, username)
    user = {"id": resp["user"]["_id"], "username": username}
    return user, RocketChat(username, password, server_url=huddle_url, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def bob(admin, huddle_url):
    return make_user(admin, huddle_url)


@pytest.fixture(scope="module")
def carol(admin, huddle_url):
    return make_user(admin, huddle_url)


def group_members(admin: RocketChat, rid: str) -> set[str]:
    page = admin.call_api_get("groups.members", roomId=rid, count=0)
    return {m["_id"] for m in page["members"]}


# ---------------------------------------------------------------------------------------------
# permissions and settings: the setup steps scripts start with
# ---------------------------------------------------------------------------------------------
def test_permissions_update_of_a_standard_permission(admin):
    resp = admin.permissions_update([{"_id": "message-impersonate", "roles": ["admin", "bot", "app"]}])
    assert resp["success"] is True
    updated = {p["_id"]: p["roles"] for p in resp["permissions"]}
    assert updated["message-impersonate"] == ["admin", "bot", "app"]
    listed = {p["_id"]: p for p in admin.permissions_list_all()["update"]}
    assert "create-invite-links" in listed and "ban-user" in listed and "mention-all" in listed
    assert len(listed) >= 170


def test_settings_update_and_get(admin, bob):
    assert admin.settings_update("Accounts_SearchFields", "username, name")["success"] is True
    got = admin.settings_get("Accounts_SearchFields")
    assert got == {"_id": "Accounts_SearchFields", "value": "username, name", "success": True}
    assert admin.settings_get("API_User_Limit")["value"] == 500
    _, client = bob
    status, body = api_error(client.settings_update, "Accounts_SearchFields", "name")
    assert status == 403
    assert body == {
        "success": False,
        "error": "User does not have the permissions required for this action [error-unauthorized]",
    }
    status, body = api_error(admin.settings_update, "No_Such_Setting_Anywhere", 1)
    assert (status, body) == (400, {"success": False})


# ---------------------------------------------------------------------------------------------
# roles
# ---------------------------------------------------------------------------------------------
def test_roles_create_assign_sync_and_delete(admin, bob):
    user, client = bob
    since = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    name = unique("role")
    role = admin.roles_create(name, scope="Users", description="made by the client test")["role"]
    assert role["name"] == name and role["protected"] is False and role["scope"] == "Users"
    assert admin.roles_add_user_to_role(role["_id"], user["username"])["success"] is True
    in_role = list(admin.roles_get_users_in_role(role["_id"]))
    assert [u["_id"] for u in in_role] == [user["id"]]
    public = client.roles_get_users_in_public_roles()["users"]
    assert any(u["_id"] == user["id"] and role["_id"] in u["roles"] for u in public)
    status, body = api_error(admin.roles_delete, role["_id"])
    assert status == 400 and body["errorType"] == "error-role-in-use"
    assert admin.roles_remove_user_from_role(role["_id"], user["username"])["success"] is True
    assert admin.roles_delete(role["_id"])["success"] is True
    synced = admin.roles_sync(since)["roles"]
    assert any(r["_id"] == role["_id"] for r in synced["remove"])
    assert not any(r["_id"] == role["_id"] for r in admin.roles_list()["roles"])
    status, body = api_error(admin.roles_delete, "admin")
    assert status == 400 and body["errorType"] == "error-role-protected"
    status, body = api_error(client.roles_create, unique("nope"))
    assert status == 400 and body["errorType"] == "error-action-not-allowed"


# ---------------------------------------------------------------------------------------------
# invite links
# ---------------------------------------------------------------------------------------------
def test_invite_link_lifecycle(admin, bob, carol):
    bob_user, bob_client = bob
    carol_user, carol_client = carol
    rid = admin.groups_create(unique("g"))["group"]["_id"]
    invite = admin.find_or_create_invite(rid, 1, 1)
    assert invite["success"] is True and invite["maxUses"] == 1 and invite["days"] == 1
    token = invite["inviteToken"]
    assert token != invite["_id"]
    assert admin.find_or_create_invite(rid, 1, 1)["_id"] == invite["_id"]
    assert bob_client.validate_invite_token(token) == {"valid": True, "success": True}
    joined = bob_client.use_invite_token(token)
    assert joined["room"]["rid"] == rid and joined["room"]["t"] == "p"
    assert bob_user["id"] in group_members(admin, rid)
    status, body = api_error(carol_client.use_invite_token, token)
    assert status == 400 and body["errorType"] == "error-invite-expired"
    assert carol_client.validate_invite_token(token)["valid"] is False
    listed = [i for i in admin.list_invites() if i["_id"] == invite["_id"]]
    assert listed and listed[0]["uses"] == 1 and "inviteToken" not in listed[0]
    assert admin.remove_invite(invite["_id"]) is True
    status, body = api_error(admin.remove_invite, invite["_id"])
    assert status == 400 and body["errorType"] == "invalid-invitation-id"
    status, body = api_error(bob_client.find_or_create_invite, rid, 1, 0)
    assert status == 400 and body["errorType"] == "not_authorized"
    status, body = api_error(admin.send_invitation_email, [f"{carol_user['username']}@example.com"])
    assert status == 400 and body == {
        "success": False,
        "error": "SMTP is not configured [error-email-send-failed]",
    }


# ---------------------------------------------------------------------------------------------
# bans (the package has no ban methods: its generic calls)
# ---------------------------------------------------------------------------------------------
def test_ban_keeps_a_user_out_until_unbanned(admin, carol):
    user, client = carol
    rid = admin.groups_create(unique("g"), members=[user["username"]])["group"]["_id"]
    assert user["id"] in group_members(admin, rid)
    assert admin.call_api_post("rooms.banUser", roomId=rid, userId=user["id"]) == {"success": True}
    assert user["id"] not in group_members(admin, rid)
    banned = admin.call_api_get("rooms.bannedUsers", roomId=rid)
    assert [u["_id"] for u in banned["bannedUsers"]] == [user["id"]]
    status, body = api_error(admin.groups_invite, rid, user["id"])
    assert status == 400 and body["errorType"] == "error-user-is-banned"
    token = admin.find_or_create_invite(rid, 0, 0)["inviteToken"]
    status, body = api_error(client.use_invite_token, token)
    assert status == 400 and body["errorType"] == "error-user-is-banned"
    assert admin.call_api_post("rooms.unbanUser", roomId=rid, username=user["username"])["success"] is True
    assert client.use_invite_token(token)["room"]["rid"] == rid
    assert user["id"] in group_members(admin, rid)
