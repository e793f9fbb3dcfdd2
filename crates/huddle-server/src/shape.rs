//! Documents as Rocket.Chat returns them (reference §8): rooms, users, subscriptions, messages,
//! for REST (ISO dates) and DDP (EJSON `{"$date": ms}` dates). Never includes secrets
//! (`joinCode`, password hashes, tokens).

use huddle_core::{
    MemberEntry, Message, Page, Room, RoomType, Subscription, Timestamp, User, UserRef,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// How dates are written: REST uses ISO strings, DDP EJSON objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dates {
    Iso,
    Ejson,
}

pub fn date(t: Timestamp, d: Dates) -> Value {
    match d {
        Dates::Iso => json!(t),
        Dates::Ejson => json!({ "$date": t.millis() }),
    }
}

pub fn user_ref(u: &UserRef) -> Value {
    let mut v = json!({ "_id": u.id, "username": u.username });
    if let Some(name) = &u.name {
        v["name"] = json!(name);
    }
    v
}

/// A room document (IRoom).
pub fn room(r: &Room) -> Value {
    room_in(r, Dates::Iso)
}

pub fn room_in(r: &Room, d: Dates) -> Value {
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    put("_id", json!(r.id));
    put("t", json!(r.t.as_str()));
    put("msgs", json!(r.msgs));
    put("usersCount", json!(r.users_count));
    put("ts", date(r.created_at, d));
    put("_updatedAt", date(r.updated_at, d));
    if r.t == RoomType::Direct {
        put("usernames", json!(r.dm_usernames));
        put("uids", json!(r.dm_uids));
    } else {
        put("name", json!(r.name));
        put("fname", json!(r.fname.as_ref().or(r.name.as_ref())));
        put("ro", json!(r.read_only));
        put("sysMes", json!(true));
        put("default", json!(r.default));
        put("customFields", json!(r.custom));
        if let Some(u) = &r.creator {
            put("u", json!({ "_id": u.id, "username": u.username }));
        }
        if r.join_code.is_some() {
            put("joinCodeRequired", json!(true));
        }
        if r.archived {
            put("archived", json!(true));
        }
        for (k, val) in [
            ("topic", &r.topic),
            ("description", &r.description),
            ("announcement", &r.announcement),
        ] {
            if let Some(val) = val {
                put(k, json!(val));
            }
        }
    }
    if let Some(lm) = r.last_message_at {
        put("lm", date(lm, d));
    }
    if r.encrypted {
        put("encrypted", json!(true));
    }
    if let Some(prid) = &r.prid {
        put("prid", json!(prid));
    }
    Value::Object(o)
}

/// The user fields anyone may see (`users.info` of another user, member lists).
pub fn user_public(u: &User) -> Value {
    json!({
        "_id": u.id,
        "username": u.username,
        "name": u.name,
        "status": u.status,
        "statusText": u.status_text,
        "active": u.active,
        "type": u.kind,
        "utcOffset": 0,
    })
}

/// Full user fields: for the user themself and for holders of `view-full-other-user-info`.
pub fn user_full(u: &User) -> Value {
    let mut v = user_public(u);
    v["roles"] = json!(u.roles);
    v["emails"] = match &u.email {
        Some(e) => json!([{ "address": e, "verified": u.email_verified }]),
        None => json!([]),
    };
    v["createdAt"] = json!(u.created_at);
    v["_updatedAt"] = json!(u.updated_at);
    v["requirePasswordChange"] = json!(u.require_password_change);
    if let Some(l) = u.last_login {
        v["lastLogin"] = json!(l);
    }
    if !u.custom.is_empty() {
        v["customFields"] = json!(u.custom);
    }
    v
}

/// `me`: the full user plus settings and the verified email.
pub fn me(u: &User, site_url: &str) -> Value {
    let mut v = user_full(u);
    if u.email_verified {
        if let Some(e) = &u.email {
            v["email"] = json!(e);
        }
    }
    v["settings"] = json!({ "profile": {}, "preferences": {} });
    v["avatarUrl"] = json!(format!(
        "{}/avatar/{}",
        site_url.trim_end_matches('/'),
        u.username_or_id()
    ));
    v
}

/// A member in `channels.members`, written straight to the body (no `Value` per member: a whole
/// list of 2,000 members was 2,000 small maps built and dropped). The fields are in the order a
/// `Value` object prints its keys (sorted), so the bytes are those `json!` gave.
#[derive(Serialize)]
pub struct MemberDoc<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
    name: &'a str,
    status: &'a str,
    username: &'a Option<String>,
}

pub fn member(m: &MemberEntry) -> MemberDoc<'_> {
    MemberDoc {
        id: &m.id,
        updated_at: m.updated_at,
        name: &m.name,
        status: &m.status,
        username: &m.username,
    }
}

/// The body of `channels.members` (`groups.members`, `im.members`): keys sorted as above, and
/// the `success: true` that `ok` appends to other bodies.
#[derive(Serialize)]
pub struct MembersPage<'a> {
    count: usize,
    members: Vec<MemberDoc<'a>>,
    offset: i64,
    success: bool,
    total: i64,
}

pub fn members_page(page: &Page<MemberEntry>, offset: i64) -> MembersPage<'_> {
    MembersPage {
        count: page.items.len(),
        members: page.items.iter().map(member).collect(),
        offset,
        success: true,
        total: page.total,
    }
}

/// A subscription (ISubscription).
pub fn subscription(s: &Subscription) -> Value {
    subscription_in(s, Dates::Iso)
}

pub fn subscription_in(s: &Subscription, d: Dates) -> Value {
    let mut v = json!({
        "_id": s.id,
        "rid": s.rid,
        "u": user_ref(&s.u),
        "t": s.t.as_str(),
        "name": s.name,
        "fname": s.fname.as_ref().unwrap_or(&s.name),
        "ts": date(s.ts, d),
        "open": s.open,
        "alert": s.alert,
        "unread": s.unread,
        "userMentions": s.user_mentions,
        "groupMentions": s.group_mentions,
        "_updatedAt": date(s.updated_at, d),
    });
    if let Some(ls) = s.ls {
        v["ls"] = date(ls, d);
    }
    if !s.roles.is_empty() {
        v["roles"] = json!(s.roles);
    }
    // Rocket.Chat's subscriptions always say whether the room is a favourite.
    v["f"] = json!(s.favorite);
    if !s.ignored.is_empty() {
        v["ignored"] = json!(s.ignored);
    }
    v
}

/// A message (IMessage).
pub fn message(m: &Message) -> Value {
    message_in(m, Dates::Iso)
}

pub fn message_in(m: &Message, d: Dates) -> Value {
    let mut v = json!({
        "_id": m.id,
        "rid": m.rid,
        "msg": m.msg,
        "ts": date(m.ts, d),
        "u": user_ref(&m.u),
        "_updatedAt": date(m.updated_at, d),
        "mentions": [],
        "channels": [],
    });
    if let Some(t) = &m.t {
        v["t"] = json!(t);
        v["groupable"] = json!(false);
    }
    if let Some(e) = m.edited_at {
        v["editedAt"] = date(e, d);
    }
    if let Some(by) = &m.edited_by {
        v["editedBy"] = json!({ "_id": by.id, "username": by.username });
    }
    if let Value::Object(o) = &mut v {
        for (k, val) in &m.extra {
            // Dates the server keeps in `extra` as epoch milliseconds (pins, threads) are
            // dates on the wire, as every other date.
            let as_date = matches!(k.as_str(), "pinnedAt" | "tlm" | "dlm");
            let val = match val.as_i64() {
                Some(ms) if as_date => date(huddle_core::Timestamp(ms), d),
                _ => val.clone(),
            };
            o.entry(k.clone()).or_insert(val);
        }
    }
    v
}

/// Rooms as Rocket.Chat shows them to `actor`, each with its `lastMessage` (the newest message
/// the caller may see; absent in a room without one).
pub async fn rooms_with_last(
    huddle: &huddle_core::Huddle,
    actor: &huddle_core::Actor,
    rooms: &[Room],
    d: Dates,
) -> huddle_core::Result<Vec<Value>> {
    let mut last = huddle.last_messages(actor, rooms).await?;
    Ok(rooms
        .iter()
        .map(|r| {
            let mut v = room_in(r, d);
            if let Some(m) = last.remove(&r.id) {
                v["lastMessage"] = message_in(&m, d);
            }
            v
        })
        .collect())
}

/// One room with its `lastMessage`, as `rooms_with_last`.
pub async fn room_with_last(
    huddle: &huddle_core::Huddle,
    actor: &huddle_core::Actor,
    room: &Room,
    d: Dates,
) -> huddle_core::Result<Value> {
    let mut all = rooms_with_last(huddle, actor, std::slice::from_ref(room), d).await?;
    Ok(all.pop().unwrap_or(Value::Null))
}
