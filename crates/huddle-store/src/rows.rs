//! The column lists of each table and the hand-written mapping from rows to the domain model.
//! Selects always alias columns with a table prefix (`u_name`, `s_name`, ...) so that joins of
//! two tables read back unambiguously. Only the types the Any driver decodes alike on both
//! backends are read: `i64` (times, counters, 0/1 flags), `String`, `Option` of either.

use std::sync::LazyLock;

use huddle_core::{
    Access, AppKey, Error, LoginToken, Member, Message, Origin, OutboxItem, Result, Room, RoomType,
    Subscription, Timestamp, TokenKind, User, UserRef, WebhookEndpoint,
};
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{Column, Row};

use huddle_core::sealed::SecretsKey;

use crate::sql::from_json;

/// Columns of `users`, in the order inserts bind them.
pub(crate) const USER_FIELDS: &[&str] = &[
    "id",
    "username",
    "username_lower",
    "name",
    "email",
    "email_lower",
    "email_verified",
    "password_hash",
    "roles",
    "active",
    "kind",
    "status",
    "status_text",
    "custom",
    "photo_url",
    "locale",
    "require_password_change",
    "created_at",
    "updated_at",
    "last_login",
    "profile",
    "status_default",
    "preferences",
];
pub(crate) const TOKEN_FIELDS: &[&str] = &[
    "hashed",
    "user_id",
    "kind",
    "name",
    "last_part",
    "bypass_two_factor",
    "created_at",
];
pub(crate) const ROOM_FIELDS: &[&str] = &[
    "id",
    "t",
    "name",
    "fname",
    "topic",
    "description",
    "announcement",
    "read_only",
    "archived",
    "is_default",
    "join_code",
    "creator_id",
    "creator_username",
    "creator_name",
    "msgs",
    "users_count",
    "lm",
    "created_at",
    "updated_at",
    "dm_usernames",
    "dm_uids",
    "subject",
    "photo_url",
    "welcome_messages",
    "custom",
    "guest_access",
    "origin",
    "encrypted",
    "prid",
    "pmid",
];
pub(crate) const SUB_FIELDS: &[&str] = &[
    "id",
    "rid",
    "uid",
    "u_username",
    "u_name",
    "t",
    "name",
    "fname",
    "ts",
    "ls",
    "open",
    "alert",
    "unread",
    "user_mentions",
    "group_mentions",
    "roles",
    "access",
    "notify",
    "revoked_at",
    "updated_at",
    "f",
    "ignored",
];
pub(crate) const MESSAGE_FIELDS: &[&str] = &[
    "id",
    "rid",
    "msg",
    "ts",
    "u_id",
    "u_username",
    "u_name",
    "t",
    "updated_at",
    "edited_at",
    "edited_by_id",
    "edited_by_username",
    "edited_by_name",
    "extra",
    "idempotency_key",
];
/// `secret` is sealed when `sealed` is 1 (`sealed.rs`).
pub(crate) const APP_KEY_FIELDS: &[&str] = &["id", "secret", "created_at", "revoked_at", "sealed"];
pub(crate) const ENDPOINT_FIELDS: &[&str] = &["id", "url", "events", "enabled", "created_at"];
pub(crate) const OUTBOX_FIELDS: &[&str] = &[
    "id",
    "endpoint_id",
    "event_type",
    "body",
    "attempts",
    "next_attempt_at",
    "delivered_at",
    "last_error",
    "created_at",
    "rid",
    "seq",
    "item",
];

/// `u.id AS u_id, u.username AS u_username, ...` for table alias `u`.
fn select_list(alias: &str, fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| format!("{alias}.{f} AS {alias}_{f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) static USER_COLS: LazyLock<String> = LazyLock::new(|| select_list("u", USER_FIELDS));
pub(crate) static TOKEN_COLS: LazyLock<String> = LazyLock::new(|| select_list("k", TOKEN_FIELDS));
pub(crate) static ROOM_COLS: LazyLock<String> = LazyLock::new(|| select_list("r", ROOM_FIELDS));
/// A membership as its member sees it: `unread`, `alert` and `updated_at` are the stored values
/// plus the posts of the room the member has not seen yet (migration 0006: a post moves the
/// room's counter, not every member's row). Needs the membership's room joined as `sr`
/// ([`SUB_ROOM`]).
pub(crate) static SUB_COLS: LazyLock<String> = LazyLock::new(|| sub_select("sr"));
/// [`SUB_COLS`] for a query that has the membership's room joined as `r` already.
pub(crate) static SUB_COLS_R: LazyLock<String> = LazyLock::new(|| sub_select("r"));
/// The join [`SUB_COLS`] reads the room's post counter through (a primary-key lookup per row).
pub(crate) const SUB_ROOM: &str = "JOIN rooms sr ON sr.id = s.rid";

fn sub_select(room: &str) -> String {
    let unseen = format!("{room}.posts > s.posts_seen");
    SUB_FIELDS
        .iter()
        .map(|f| match *f {
            "unread" => format!(
                "CASE WHEN {unseen} THEN s.unread + {room}.posts - s.posts_seen ELSE s.unread END AS s_unread"
            ),
            "alert" => format!("CASE WHEN {unseen} THEN 1 ELSE s.alert END AS s_alert"),
            "updated_at" => format!(
                "CASE WHEN {unseen} AND {room}.posted_at > s.updated_at THEN {room}.posted_at \
                 ELSE s.updated_at END AS s_updated_at"
            ),
            f => format!("s.{f} AS s_{f}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
pub(crate) static MESSAGE_COLS: LazyLock<String> =
    LazyLock::new(|| select_list("m", MESSAGE_FIELDS));
pub(crate) static APP_KEY_COLS: LazyLock<String> =
    LazyLock::new(|| select_list("a", APP_KEY_FIELDS));
pub(crate) static ENDPOINT_COLS: LazyLock<String> =
    LazyLock::new(|| select_list("w", ENDPOINT_FIELDS));
pub(crate) static OUTBOX_COLS: LazyLock<String> = LazyLock::new(|| select_list("o", OUTBOX_FIELDS));

/// A row as the mappings below read it, whichever driver fetched it: sqlx's `AnyRow` (both
/// backends) or a `rusqlite` row (`direct.rs`: SQLite reads run on the caller's thread). Only
/// the types both decode alike: text, 64-bit integers, and `NULL` as `None`.
pub(crate) trait RowSource {
    fn column_count(&self) -> usize;
    fn column_name(&self, i: usize) -> Option<&str>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
}

fn read_err(i: usize, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("reading column {i}: {e}"))
}

impl RowSource for AnyRow {
    fn column_count(&self) -> usize {
        self.columns().len()
    }
    fn column_name(&self, i: usize) -> Option<&str> {
        self.columns().get(i).map(|c| c.name())
    }
    fn text(&self, i: usize) -> Result<String> {
        self.try_get(i).map_err(|e| read_err(i, e))
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.try_get(i).map_err(|e| read_err(i, e))
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.try_get(i).map_err(|e| read_err(i, e))
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.try_get(i).map_err(|e| read_err(i, e))
    }
}

impl RowSource for rusqlite::Row<'_> {
    fn column_count(&self) -> usize {
        self.as_ref().column_count()
    }
    fn column_name(&self, i: usize) -> Option<&str> {
        self.as_ref().column_name(i).ok()
    }
    fn text(&self, i: usize) -> Result<String> {
        self.get(i).map_err(|e| read_err(i, e))
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.get(i).map_err(|e| read_err(i, e))
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.get(i).map_err(|e| read_err(i, e))
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.get(i).map_err(|e| read_err(i, e))
    }
}

/// Reads the columns of one table alias out of a row, by index: the select lists above put a
/// table's columns side by side in its `*_FIELDS` order, so once the first one is found a
/// field's column is that position plus the field's place in the list. Looking columns up by a
/// `format!`-ed name cost an allocation and a hash per column per row (a large share of every
/// listing's CPU).
pub(crate) struct Cols<'r> {
    row: &'r dyn RowSource,
    alias: &'static str,
    fields: &'static [&'static str],
    first: usize,
}

impl<'r> Cols<'r> {
    pub(crate) fn new(
        row: &'r dyn RowSource,
        alias: &'static str,
        fields: &'static [&'static str],
    ) -> Result<Self> {
        let is_first = |name: &str| {
            name.strip_prefix(alias)
                .and_then(|rest| rest.strip_prefix('_'))
                .is_some_and(|rest| Some(&rest) == fields.first())
        };
        let first = (0..row.column_count())
            .position(|i| row.column_name(i).is_some_and(is_first))
            .ok_or_else(|| Error::Internal(format!("no columns of {alias} in the row")))?;
        Ok(Cols {
            row,
            alias,
            fields,
            first,
        })
    }

    /// The column of `field`.
    fn at(&self, field: &str) -> Result<usize> {
        self.fields
            .iter()
            .position(|f| *f == field)
            .map(|at| self.first + at)
            .ok_or_else(|| Error::Internal(format!("no column {}_{field}", self.alias)))
    }
    fn named(&self, field: &str, e: Error) -> Error {
        Error::Internal(format!("reading column {}_{field}: {e}", self.alias))
    }
    fn text(&self, field: &str) -> Result<String> {
        self.row
            .text(self.at(field)?)
            .map_err(|e| self.named(field, e))
    }
    fn opt_text(&self, field: &str) -> Result<Option<String>> {
        self.row
            .opt_text(self.at(field)?)
            .map_err(|e| self.named(field, e))
    }
    fn int(&self, field: &str) -> Result<i64> {
        self.row
            .int(self.at(field)?)
            .map_err(|e| self.named(field, e))
    }
    fn opt_int(&self, field: &str) -> Result<Option<i64>> {
        self.row
            .opt_int(self.at(field)?)
            .map_err(|e| self.named(field, e))
    }
    fn flag(&self, field: &str) -> Result<bool> {
        Ok(self.int(field)? != 0)
    }
    fn time(&self, field: &str) -> Result<Timestamp> {
        Ok(Timestamp(self.int(field)?))
    }
    fn opt_time(&self, field: &str) -> Result<Option<Timestamp>> {
        Ok(self.opt_int(field)?.map(Timestamp))
    }
    fn json<T: DeserializeOwned>(&self, field: &str) -> Result<T> {
        from_json(&self.text(field)?, field)
    }
    fn origin(&self, field: &str) -> Result<Origin> {
        let o = self.text(field)?;
        Origin::parse(&o).ok_or_else(|| {
            Error::Internal(format!(
                "unknown room origin {o:?} in {}_{field}",
                self.alias
            ))
        })
    }
    fn room_type(&self, field: &str) -> Result<RoomType> {
        let t = self.text(field)?;
        RoomType::parse(&t).ok_or_else(|| {
            Error::Internal(format!("unknown room type {t:?} in {}_{field}", self.alias))
        })
    }
}

pub(crate) fn user(row: &dyn RowSource) -> Result<User> {
    let c = Cols::new(row, "u", USER_FIELDS)?;
    Ok(User {
        id: c.text("id")?,
        username: c.opt_text("username")?,
        name: c.text("name")?,
        email: c.opt_text("email")?,
        email_verified: c.flag("email_verified")?,
        password_hash: c.opt_text("password_hash")?,
        roles: c.json("roles")?,
        active: c.flag("active")?,
        kind: c.text("kind")?,
        status: c.text("status")?,
        status_text: c.text("status_text")?,
        custom: c.json("custom")?,
        photo_url: c.opt_text("photo_url")?,
        locale: c.opt_text("locale")?,
        require_password_change: c.flag("require_password_change")?,
        created_at: c.time("created_at")?,
        updated_at: c.time("updated_at")?,
        last_login: c.opt_time("last_login")?,
        profile: c.json("profile")?,
        status_default: c.text("status_default")?,
        preferences: c.json("preferences")?,
    })
}

pub(crate) fn token(row: &dyn RowSource) -> Result<LoginToken> {
    let c = Cols::new(row, "k", TOKEN_FIELDS)?;
    Ok(LoginToken {
        user_id: c.text("user_id")?,
        hashed: c.text("hashed")?,
        kind: TokenKind::parse(&c.text("kind")?),
        name: c.opt_text("name")?,
        last_part: c.text("last_part")?,
        bypass_two_factor: c.flag("bypass_two_factor")?,
        created_at: c.time("created_at")?,
    })
}

pub(crate) fn room(row: &dyn RowSource) -> Result<Room> {
    let c = Cols::new(row, "r", ROOM_FIELDS)?;
    let creator = match c.opt_text("creator_id")? {
        Some(id) => Some(UserRef {
            id,
            username: c.opt_text("creator_username")?.unwrap_or_default(),
            name: c.opt_text("creator_name")?,
        }),
        None => None,
    };
    Ok(Room {
        id: c.text("id")?,
        t: c.room_type("t")?,
        name: c.opt_text("name")?,
        fname: c.opt_text("fname")?,
        topic: c.opt_text("topic")?,
        description: c.opt_text("description")?,
        announcement: c.opt_text("announcement")?,
        read_only: c.flag("read_only")?,
        archived: c.flag("archived")?,
        default: c.flag("is_default")?,
        join_code: c.opt_text("join_code")?,
        creator,
        msgs: c.int("msgs")?,
        users_count: c.int("users_count")?,
        last_message_at: c.opt_time("lm")?,
        created_at: c.time("created_at")?,
        updated_at: c.time("updated_at")?,
        dm_usernames: c.json("dm_usernames")?,
        dm_uids: c.json("dm_uids")?,
        subject: c.opt_text("subject")?,
        photo_url: c.opt_text("photo_url")?,
        welcome_messages: c.json("welcome_messages")?,
        custom: c.json("custom")?,
        guest_access: c.flag("guest_access")?,
        origin: c.origin("origin")?,
        encrypted: c.flag("encrypted")?,
        prid: c.opt_text("prid")?,
        pmid: c.opt_text("pmid")?,
    })
}

pub(crate) fn subscription(row: &dyn RowSource) -> Result<Subscription> {
    let c = Cols::new(row, "s", SUB_FIELDS)?;
    Ok(Subscription {
        id: c.text("id")?,
        rid: c.text("rid")?,
        u: UserRef {
            id: c.text("uid")?,
            username: c.text("u_username")?,
            name: c.opt_text("u_name")?,
        },
        t: c.room_type("t")?,
        name: c.text("name")?,
        fname: c.opt_text("fname")?,
        ts: c.time("ts")?,
        ls: c.opt_time("ls")?,
        open: c.flag("open")?,
        alert: c.flag("alert")?,
        unread: c.int("unread")?,
        user_mentions: c.int("user_mentions")?,
        group_mentions: c.int("group_mentions")?,
        roles: c.json("roles")?,
        access: Access::parse(&c.text("access")?).unwrap_or_default(),
        notify: c.text("notify")?,
        revoked_at: c.opt_time("revoked_at")?,
        updated_at: c.time("updated_at")?,
        favorite: c.flag("f")?,
        ignored: c.json("ignored")?,
    })
}

/// A member as listed: a row selecting `SUB_COLS` and `USER_COLS`.
pub(crate) fn member(row: &dyn RowSource) -> Result<Member> {
    Ok(Member {
        subscription: subscription(row)?,
        user: user(row)?,
    })
}

pub(crate) fn message(row: &dyn RowSource) -> Result<Message> {
    let c = Cols::new(row, "m", MESSAGE_FIELDS)?;
    let edited_by = match c.opt_text("edited_by_id")? {
        Some(id) => Some(UserRef {
            id,
            username: c.opt_text("edited_by_username")?.unwrap_or_default(),
            name: c.opt_text("edited_by_name")?,
        }),
        None => None,
    };
    Ok(Message {
        id: c.text("id")?,
        rid: c.text("rid")?,
        msg: c.text("msg")?,
        ts: c.time("ts")?,
        u: UserRef {
            id: c.text("u_id")?,
            username: c.text("u_username")?,
            name: c.opt_text("u_name")?,
        },
        t: c.opt_text("t")?,
        updated_at: c.time("updated_at")?,
        edited_at: c.opt_time("edited_at")?,
        edited_by,
        extra: c.json("extra")?,
        idempotency_key: c.opt_text("idempotency_key")?,
    })
}

/// Opens a sealed secret with `key`. A row still in clear (written before migration 0012, until
/// the start-up step seals it) reads as it is.
pub(crate) fn app_key(row: &dyn RowSource, key: Option<&SecretsKey>) -> Result<AppKey> {
    let c = Cols::new(row, "a", APP_KEY_FIELDS)?;
    let id = c.text("id")?;
    let stored = c.text("secret")?;
    let secret = if c.flag("sealed")? {
        key.ok_or_else(crate::app::no_key)?.open(&id, &stored)?
    } else {
        stored
    };
    Ok(AppKey {
        id,
        secret,
        created_at: c.time("created_at")?,
        revoked_at: c.opt_time("revoked_at")?,
    })
}

pub(crate) fn endpoint(row: &dyn RowSource) -> Result<WebhookEndpoint> {
    let c = Cols::new(row, "w", ENDPOINT_FIELDS)?;
    Ok(WebhookEndpoint {
        id: c.text("id")?,
        url: c.text("url")?,
        events: c.json("events")?,
        enabled: c.flag("enabled")?,
        created_at: c.time("created_at")?,
    })
}

pub(crate) fn outbox_item(row: &dyn RowSource) -> Result<OutboxItem> {
    let c = Cols::new(row, "o", OUTBOX_FIELDS)?;
    Ok(OutboxItem {
        id: c.text("id")?,
        endpoint_id: c.text("endpoint_id")?,
        event_type: c.text("event_type")?,
        body: c.text("body")?,
        attempts: c.int("attempts")?,
        next_attempt_at: c.time("next_attempt_at")?,
        delivered_at: c.opt_time("delivered_at")?,
        last_error: c.opt_text("last_error")?,
        created_at: c.time("created_at")?,
        rid: c.opt_text("rid")?,
        seq: c.opt_int("seq")?,
        item: c.opt_int("item")?,
    })
}

/// Maps every row, failing on the first bad one.
pub(crate) fn all<T>(rows: &[AnyRow], f: impl Fn(&dyn RowSource) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(|r| f(r)).collect()
}

/// Reads a single `count(*)`-style integer from column 0.
pub(crate) fn count(row: &AnyRow) -> Result<i64> {
    row.try_get::<i64, _>(0usize)
        .map_err(|e| Error::Internal(format!("reading count: {e}")))
}
