//! Users and their login tokens: the `users`, `user_roles` and `login_tokens` tables.
//! Case-insensitive lookups go through the `*_lower` columns; global roles are kept twice, as
//! the ordered JSON list the model carries and as `user_roles` rows that role queries can index.

use std::collections::HashMap;

use async_trait::async_trait;
use huddle_core::store::UserStore;
use huddle_core::{
    Error, Invitee, LoginToken, Page, Result, TokenKind, User, UserField, UserQuery,
};

use crate::errors::{db_err, reference_err, user_err, user_not_found};
use crate::pool::Backend;
use crate::rows::{self, TOKEN_COLS, TOKEN_FIELDS, USER_COLS, USER_FIELDS};
use crate::sql::{contains_pattern, flag, fold, json_list, now, placeholders, to_json};
use crate::tx::{self, GetRow, Tx, Value};
use crate::{SqlStore, Q};

/// Binds every column of `users` in `USER_FIELDS` order.
pub(crate) fn bind_user<'q>(q: Q<'q>, u: &'q User) -> Result<Q<'q>> {
    Ok(q.bind(u.id.as_str())
        .bind(u.username.as_deref())
        .bind(u.username.as_deref().map(fold))
        .bind(u.name.as_str())
        .bind(u.email.as_deref())
        .bind(u.email.as_deref().map(fold))
        .bind(flag(u.email_verified))
        .bind(u.password_hash.as_deref())
        .bind(to_json(&u.roles)?)
        .bind(flag(u.active))
        .bind(u.kind.as_str())
        .bind(u.status.as_str())
        .bind(u.status_text.as_str())
        .bind(to_json(&u.custom)?)
        .bind(u.photo_url.as_deref())
        .bind(u.locale.as_deref())
        .bind(flag(u.require_password_change))
        .bind(u.created_at.0)
        .bind(u.updated_at.0)
        .bind(u.last_login.map(|t| t.0))
        .bind(to_json(&u.profile)?)
        .bind(u.status_default.as_str())
        .bind(to_json(&u.preferences)?))
}

/// Replaces the searchable copy of a user's global roles.
async fn write_roles(
    tx: &mut Tx<'_>,
    backend: Backend,
    user_id: &str,
    roles: &[String],
    replace: bool,
) -> Result<()> {
    if replace {
        tx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    if !roles.is_empty() {
        let sql = format!(
            "INSERT INTO user_roles (user_id, role) SELECT $1, r.value FROM ({}) r WHERE true \
             ON CONFLICT (user_id, role) DO NOTHING",
            json_list(backend, 2)
        );
        tx::query(&sql)
            .bind(user_id)
            .bind(to_json(roles)?)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

impl SqlStore {
    async fn user_where(&self, condition: &str, key: String) -> Result<Option<User>> {
        let sql = format!("SELECT {} FROM users u WHERE {condition}", *USER_COLS);
        self.fetch_optional(&sql, &[Value::from(&key)], rows::user)
            .await
    }

    /// Users whose `column` is one of `keys`, in the order of `keys` (which hold no duplicates),
    /// unknown keys skipped. One statement for any number of keys: the list is one JSON
    /// parameter.
    async fn users_in(&self, column: &str, keys: Vec<String>) -> Result<Vec<User>> {
        self.keyed_in(column, &USER_COLS, keys, rows::user, |u| {
            (&u.id, u.username.as_deref())
        })
        .await
    }

    /// The rows of `users` whose `column` (`id` or `username_lower`) is one of `keys`, selecting
    /// `cols` and decoded by `decode`, in the order of `keys` (each key's row once; unknown keys
    /// dropped). `ids` gives a decoded row's id and username, to match it back to its key.
    async fn keyed_in<T>(
        &self,
        column: &str,
        cols: &str,
        keys: Vec<String>,
        decode: impl Fn(&dyn rows::RowSource) -> Result<T>,
        ids: impl Fn(&T) -> (&str, Option<&str>),
    ) -> Result<Vec<T>> {
        if keys.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT {cols} FROM users u WHERE u.{column} IN ({})",
            json_list(self.db.backend, 1)
        );
        let list = to_json(&keys)?;
        let found = self.fetch(&sql, &[Value::from(&list)], decode).await?;
        let mut by_key: HashMap<String, T> = HashMap::with_capacity(found.len());
        for item in found {
            let (id, username) = ids(&item);
            let key = if column == "id" {
                id.to_string()
            } else {
                username.map(fold).unwrap_or_default()
            };
            by_key.insert(key, item);
        }
        Ok(keys.iter().filter_map(|k| by_key.remove(k)).collect())
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn avatar(&self, uid: &str) -> Result<Option<huddle_core::Avatar>> {
        let row = sqlx::query(
            "SELECT content_type, data, url, etag, updated_at FROM avatars WHERE uid = $1",
        )
        .bind(uid)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err)?;
        row.map(|r| {
            Ok(huddle_core::Avatar {
                content_type: r.try_get(0usize).map_err(db_err)?,
                data: r.try_get(1usize).map_err(db_err)?,
                url: r.try_get(2usize).map_err(db_err)?,
                etag: r.try_get(3usize).map_err(db_err)?,
                updated_at: huddle_core::Timestamp(r.try_get(4usize).map_err(db_err)?),
            })
        })
        .transpose()
    }

    async fn set_avatar(&self, uid: &str, avatar: Option<&huddle_core::Avatar>) -> Result<()> {
        let uid = uid.to_string();
        let avatar = avatar.cloned();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let done = match &avatar {
                        Some(a) => tx::query(
                            "INSERT INTO avatars (uid, content_type, data, url, etag, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (uid) DO UPDATE SET \
                             content_type = excluded.content_type, data = excluded.data, url = excluded.url, \
                             etag = excluded.etag, updated_at = excluded.updated_at",
                        )
                        .bind(uid.as_str())
                        .bind(a.content_type.as_str())
                        .bind(a.data.as_str())
                        .bind(a.url.as_deref())
                        .bind(a.etag.as_str())
                        .bind(a.updated_at.0)
                        .execute(&mut *tx)
                        .await,
                        None => tx::query("DELETE FROM avatars WHERE uid = $1")
                            .bind(uid.as_str())
                            .execute(&mut *tx)
                            .await,
                    };
                    done.map_err(db_err)?;
                    Ok(())
                })
            })
            .await
    }

    async fn insert_user(&self, user: &User) -> Result<()> {
        let sql = format!(
            "INSERT INTO users ({}) VALUES ({})",
            USER_FIELDS.join(", "),
            placeholders(1, USER_FIELDS.len())
        );
        let (user, backend) = (user.clone(), self.db.backend);
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let user = &user;
                    bind_user(tx::query(&sql), user)?
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| user_err(e, user))?;
                    write_roles(tx, backend, &user.id, &user.roles, false).await?;
                    Ok(())
                })
            })
            .await
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        let uid = user.id.clone();
        let sets = USER_FIELDS
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, f)| format!("{f} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("UPDATE users SET {sets} WHERE id = $1");
        let (user, backend) = (user.clone(), self.db.backend);
        let out = self.db.write(move |tx| Box::pin(async move {
        let user = &user;
        let done = bind_user(tx::query(&sql), user)?
            .execute(&mut *tx)
            .await
            .map_err(|e| user_err(e, user))?;
        if done.rows_affected() == 0 {
            return Err(user_not_found());
        }
        write_roles(tx, backend, &user.id, &user.roles, true).await?;
        // Memberships carry the username (member lists sort by it) and name: follow a rename.
        // The condition keeps the common case (a login stamping last_login) from touching them.
        let username = user.username.clone().unwrap_or_default();
        let followed = tx::query("UPDATE subscriptions SET u_username = $2, u_name = $3 WHERE uid = $1 AND (u_username <> $2 OR u_name IS NULL OR u_name <> $3)")
            .bind(user.id.as_str())
            .bind(username)
            .bind(user.name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(followed.rows_affected() > 0)
        })).await;
        self.caches.user_changed(&uid);
        if matches!(out, Ok(true)) {
            // Member indexes are keyed by username: a rename reorders them.
            self.members.invalidate_all();
        }
        out.map(|_| ())
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        self.user_where("u.id = $1", id.to_string()).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        self.user_where("u.username_lower = $1", fold(username))
            .await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.user_where("u.email_lower = $1", fold(email.trim()))
            .await
    }

    async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<User>> {
        let mut keys = ids.to_vec();
        dedup_keep_order(&mut keys);
        self.users_in("id", keys).await
    }

    async fn users_by_usernames(&self, usernames: &[String]) -> Result<Vec<User>> {
        let mut keys: Vec<String> = usernames.iter().map(|u| fold(u)).collect();
        dedup_keep_order(&mut keys);
        self.users_in("username_lower", keys).await
    }

    async fn invitees(&self, keys: &[String], by_id: bool) -> Result<Vec<Invitee>> {
        let (column, mut keys): (&str, Vec<String>) = if by_id {
            ("id", keys.to_vec())
        } else {
            ("username_lower", keys.iter().map(|k| fold(k)).collect())
        };
        dedup_keep_order(&mut keys);
        // Three columns, not `USER_COLS`: for 10,000 users the full rows were most of a bulk
        // invite's read (every column copied by the `Any` driver, then decoded).
        let invitee = |row: &dyn rows::RowSource| {
            Ok(Invitee {
                id: row.text(0)?,
                username: row.opt_text(1)?,
                name: row.text(2)?,
            })
        };
        self.keyed_in(
            column,
            "u.id, u.username, u.name",
            keys,
            invitee,
            |i: &Invitee| (&i.id, i.username.as_deref()),
        )
        .await
    }

    async fn delete_user(&self, id: &str) -> Result<bool> {
        let uid = id.to_string();
        let (id, b) = (id.to_string(), self.db.backend);
        let out = self.db.write(move |tx| Box::pin(async move {
        let id = id.as_str();
        // Lock order (PostgreSQL): the user row first, which also blocks new memberships for
        // them (their foreign-key check waits on it), then their rooms in id order.
        let sql = format!("SELECT id FROM users WHERE id = $1{}", b.lock_for_delete());
        if tx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .is_none()
        {
            return Ok(false);
        }
        let sql = format!("SELECT id FROM rooms WHERE id IN (SELECT rid FROM subscriptions WHERE uid = $1) ORDER BY id{}", b.lock_rows());
        tx::query(&sql)
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        // Decrement exactly the rooms whose membership this statement removed.
        let removed = tx::query("DELETE FROM subscriptions WHERE uid = $1 RETURNING rid")
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let rids = removed
            .iter()
            .map(|r| r.try_get::<String, _>(0usize))
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)?;
        let ts = now();
        if !rids.is_empty() {
            let sql = format!(
                "UPDATE rooms SET users_count = users_count - 1, updated_at = $1 WHERE id IN ({})",
                json_list(b, 2)
            );
            tx::query(&sql)
                .bind(ts)
                .bind(to_json(&rids)?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx::query("DELETE FROM avatars WHERE uid = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx::query("DELETE FROM login_tokens WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(true)
        })).await;
        self.caches.user_changed(&uid);
        // Their memberships went, and with them a member from each of their rooms' counters.
        self.caches.rooms.invalidate_where(|_| true);
        if matches!(out, Ok(true)) {
            // A deleted user leaves every room's member index (rare: reload rather than follow).
            self.members.invalidate_all();
        }
        out
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>> {
        let mut conditions: Vec<String> = vec![];
        let mut binds: Vec<String> = vec![];
        if let Some(text) = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            binds.push(contains_pattern(text));
            let n = binds.len();
            let fields = if query.text_fields.is_empty() {
                &[UserField::Username, UserField::Name, UserField::Email][..]
            } else {
                &query.text_fields[..]
            };
            let any: Vec<String> = fields
                .iter()
                .map(|f| {
                    let column = match f {
                        UserField::Username => "u.username_lower",
                        UserField::Name => "lower(u.name)",
                        UserField::Email => "u.email_lower",
                    };
                    format!("{column} LIKE ${n} ESCAPE '\\'")
                })
                .collect();
            conditions.push(format!("({})", any.join(" OR ")));
        }
        if let Some(role) = &query.role {
            binds.push(role.clone());
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role = ${})",
                binds.len()
            ));
        }
        if let Some(active) = query.active {
            conditions.push(format!("u.active = {}", flag(active)));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT count(*) FROM users u{filter}");
        let page_sql = format!(
            "SELECT {} FROM users u{filter} ORDER BY u.username_lower ASC NULLS LAST, u.id ASC{}",
            *USER_COLS,
            self.db.backend.page(&query.paging)
        );
        let mut count_q = sqlx::query(&count_sql);
        let mut page_q = sqlx::query(&page_sql);
        for b in &binds {
            count_q = count_q.bind(b.as_str());
            page_q = page_q.bind(b.as_str());
        }
        let total = rows::count(&count_q.fetch_one(self.db.reader()).await.map_err(db_err)?)?;
        let items = rows::all(
            &page_q.fetch_all(self.db.reader()).await.map_err(db_err)?,
            rows::user,
        )?;
        Ok(Page { items, total })
    }

    async fn count_users_with_role(&self, role: &str) -> Result<i64> {
        let row = sqlx::query("SELECT count(*) FROM user_roles WHERE role = $1")
            .bind(role)
            .fetch_one(self.db.reader())
            .await
            .map_err(db_err)?;
        rows::count(&row)
    }

    async fn all_user_ids(&self, active_only: bool, limit: i64) -> Result<Vec<String>> {
        let filter = if active_only { " WHERE active = 1" } else { "" };
        let sql = format!("SELECT id FROM users{filter} ORDER BY created_at, id LIMIT $1");
        let found = sqlx::query(&sql)
            .bind(limit.max(0))
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        found
            .iter()
            .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
            .collect()
    }

    async fn insert_token(&self, token: &LoginToken) -> Result<()> {
        let sql = format!(
            "INSERT INTO login_tokens ({}) VALUES ({})",
            TOKEN_FIELDS.join(", "),
            placeholders(1, TOKEN_FIELDS.len())
        );
        let token = token.clone();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let result = tx::query(&sql)
                        .bind(token.hashed.as_str())
                        .bind(token.user_id.as_str())
                        .bind(token.kind.as_str())
                        .bind(token.name.as_deref())
                        .bind(token.last_part.as_str())
                        .bind(flag(token.bypass_two_factor))
                        .bind(token.created_at.0)
                        .execute(&mut *tx)
                        .await;
                    match result {
                        Ok(_) => Ok(()),
                        Err(e) if crate::errors::is_unique_violation(&e) => Err(Error::conflict(
                            "error-token-already-exists",
                            "A token with this name already exists",
                        )),
                        Err(e) => Err(reference_err(e)),
                    }
                })
            })
            .await
    }

    async fn user_by_token(&self, hashed: &str) -> Result<Option<(User, LoginToken)>> {
        if let Some(hit) = self.caches.tokens.get(hashed) {
            return Ok(Some(hit));
        }
        let ticket = self.caches.tokens.ticket();
        let sql = format!("SELECT {}, {} FROM login_tokens k JOIN users u ON u.id = k.user_id WHERE k.hashed = $1", *USER_COLS, *TOKEN_COLS);
        let found = self
            .fetch_optional(&sql, &[Value::from(hashed)], |row| {
                Ok((rows::user(row)?, rows::token(row)?))
            })
            .await?;
        match found {
            Some(found) => {
                self.caches.tokens.fill(hashed, found.clone(), ticket);
                Ok(Some(found))
            }
            None => Ok(None),
        }
    }

    async fn delete_token(&self, hashed: &str) -> Result<bool> {
        let key = hashed.to_string();
        let out = self
            .db
            .write(move |tx| {
                Box::pin(async move {
                    let done = tx::query("DELETE FROM login_tokens WHERE hashed = $1")
                        .bind(key.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await;
        self.caches.tokens.invalidate(hashed);
        out
    }

    async fn tokens_of_user(&self, user_id: &str, kind: TokenKind) -> Result<Vec<LoginToken>> {
        let sql = format!("SELECT {} FROM login_tokens k WHERE k.user_id = $1 AND k.kind = $2 ORDER BY k.created_at, k.hashed", *TOKEN_COLS);
        let found = sqlx::query(&sql)
            .bind(user_id)
            .bind(kind.as_str())
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        rows::all(&found, rows::token)
    }

    async fn delete_named_token(&self, user_id: &str, name: &str) -> Result<bool> {
        let (uid, token_name) = (user_id.to_string(), name.to_string());
        let out = self
            .db
            .write(move |tx| {
                Box::pin(async move {
                    let done =
                        tx::query("DELETE FROM login_tokens WHERE user_id = $1 AND name = $2")
                            .bind(uid.as_str())
                            .bind(token_name.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await;
        self.caches
            .tokens
            .invalidate_where(|(u, k)| u.id == user_id && k.name.as_deref() == Some(name));
        out
    }

    async fn delete_tokens_of_user(&self, user_id: &str) -> Result<()> {
        let uid = user_id.to_string();
        let out = self
            .db
            .write(move |tx| {
                Box::pin(async move {
                    tx::query("DELETE FROM login_tokens WHERE user_id = $1")
                        .bind(uid.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                })
            })
            .await;
        self.caches.user_changed(user_id);
        out
    }
}

fn dedup_keep_order(keys: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
}
