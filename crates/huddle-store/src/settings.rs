//! Workspace configuration: the `permissions`, `roles` and `settings` tables. Defaults are
//! inserted only where missing, so an admin's edits survive restarts.

use async_trait::async_trait;
use huddle_core::store::SettingsStore;
use huddle_core::{Error, Permission, Result, Role, RoleScope, Timestamp};

use crate::errors::{db_err, is_unique_violation, DbError};
use crate::sql::{flag, from_json, now, to_json, values_rows, CHUNK};
use crate::tx::{self, GetRow};
use crate::SqlStore;

fn get<T: tx::Get>(row: &impl GetRow, column: &str) -> Result<T> {
    row.try_get::<T, _>(column).map_err(db_err)
}

fn permission(row: &impl GetRow) -> Result<Permission> {
    Ok(Permission {
        id: get(row, "id")?,
        roles: from_json(&get::<String>(row, "roles")?, "permissions.roles")?,
        updated_at: Timestamp(get(row, "updated_at")?),
    })
}

fn role(row: &impl GetRow) -> Result<Role> {
    let scope = match get::<String>(row, "scope")?.as_str() {
        "Users" => RoleScope::Users,
        "Subscriptions" => RoleScope::Subscriptions,
        other => return Err(Error::Internal(format!("unknown role scope {other:?}"))),
    };
    Ok(Role {
        id: get(row, "id")?,
        name: get(row, "name")?,
        scope,
        description: get(row, "description")?,
        protected: get::<i64>(row, "protected")? != 0,
        updated_at: Timestamp(get(row, "updated_at")?),
    })
}

/// Writing a role: a taken id or name is a `Conflict` (the service words it).
fn role_err(e: impl Into<DbError>) -> Error {
    let e = e.into();
    if is_unique_violation(&e) {
        return Error::Conflict(huddle_core::Failure::new(
            "error-duplicate-role-names-not-allowed",
            "Role name already exists",
        ));
    }
    db_err(e)
}

impl SqlStore {
    /// Inserts the rows that are missing, `CHUNK` at a time, in one transaction. `bind` binds
    /// the `cols` values of one row.
    async fn insert_missing<T: Clone + Send + Sync + 'static>(
        &self,
        table_cols: &'static str,
        key: &'static str,
        cols: usize,
        items: &[T],
        bind: impl for<'q> Fn(crate::Q<'q>, &'q T) -> Result<crate::Q<'q>> + Send + 'static,
    ) -> Result<()> {
        let (items, backend) = (items.to_vec(), self.db.backend);
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    for chunk in items.chunks(CHUNK) {
                        let sql = backend.sql(format!(
                            "INSERT INTO {table_cols} VALUES {} ON CONFLICT ({key}) DO NOTHING",
                            values_rows(chunk.len(), cols)
                        ));
                        let mut q = tx::query(&sql);
                        for item in chunk {
                            q = bind(q, item)?;
                        }
                        q.persistent(false)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    Ok(())
                })
            })
            .await
    }
}

#[async_trait]
impl SettingsStore for SqlStore {
    async fn permissions(&self) -> Result<Vec<Permission>> {
        let found = sqlx::query("SELECT id, roles, updated_at FROM permissions ORDER BY id")
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        found.iter().map(permission).collect()
    }

    async fn ensure_permissions(&self, defaults: &[Permission]) -> Result<()> {
        self.insert_missing(
            "permissions (id, roles, updated_at)",
            "id",
            3,
            defaults,
            |q, p| {
                Ok(q.bind(p.id.as_str())
                    .bind(to_json(&p.roles)?)
                    .bind(p.updated_at.0))
            },
        )
        .await
    }

    async fn set_permission_roles(&self, id: &str, roles: &[String]) -> Result<()> {
        let (id, roles) = (id.to_string(), roles.to_vec());
        self.db.write(move |tx| Box::pin(async move {
        let (id, roles) = (id.as_str(), roles.as_slice());
        tx::query(
            "INSERT INTO permissions (id, roles, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET roles = excluded.roles, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(to_json(roles)?)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        Ok(())
        })).await
    }

    async fn roles(&self) -> Result<Vec<Role>> {
        let found = sqlx::query(
            "SELECT id, name, scope, description, protected, updated_at FROM roles ORDER BY name",
        )
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        found.iter().map(role).collect()
    }

    async fn ensure_roles(&self, defaults: &[Role]) -> Result<()> {
        self.insert_missing(
            "roles (id, name, scope, description, protected, updated_at)",
            "name",
            6,
            defaults,
            |q, r| {
                Ok(q.bind(r.id.as_str())
                    .bind(r.name.as_str())
                    .bind(r.scope.as_str())
                    .bind(r.description.as_str())
                    .bind(flag(r.protected))
                    .bind(r.updated_at.0))
            },
        )
        .await
    }

    async fn insert_role(&self, r: &Role) -> Result<()> {
        let r = r.clone();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    tx::query(
                        "INSERT INTO roles (id, name, scope, description, protected, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(r.id.as_str())
                    .bind(r.name.as_str())
                    .bind(r.scope.as_str())
                    .bind(r.description.as_str())
                    .bind(flag(r.protected))
                    .bind(r.updated_at.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(role_err)?;
                    Ok(())
                })
            })
            .await
    }

    async fn update_role(&self, r: &Role) -> Result<bool> {
        let r = r.clone();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let done = tx::query(
                        "UPDATE roles SET name = $2, scope = $3, description = $4, updated_at = $5 \
                         WHERE id = $1",
                    )
                    .bind(r.id.as_str())
                    .bind(r.name.as_str())
                    .bind(r.scope.as_str())
                    .bind(r.description.as_str())
                    .bind(r.updated_at.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(role_err)?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await
    }

    async fn delete_role(&self, id: &str, at: Timestamp) -> Result<bool> {
        let id = id.to_string();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let gone = tx::query(
                        "DELETE FROM roles WHERE id = $1 \
                         RETURNING id, name, scope, description, protected",
                    )
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    let Some(gone) = gone else {
                        return Ok(false);
                    };
                    tx::query(
                        "INSERT INTO roles_removed (id, name, scope, description, protected, removed_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
                         name = excluded.name, scope = excluded.scope, \
                         description = excluded.description, protected = excluded.protected, \
                         removed_at = excluded.removed_at",
                    )
                    .bind(get::<String>(&gone, "id")?)
                    .bind(get::<String>(&gone, "name")?)
                    .bind(get::<String>(&gone, "scope")?)
                    .bind(get::<String>(&gone, "description")?)
                    .bind(get::<i64>(&gone, "protected")?)
                    .bind(at.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    Ok(true)
                })
            })
            .await
    }

    async fn removed_roles_since(&self, since: Timestamp) -> Result<Vec<Role>> {
        let found = sqlx::query(
            "SELECT id, name, scope, description, protected, removed_at AS updated_at \
             FROM roles_removed WHERE removed_at > $1 ORDER BY removed_at",
        )
        .bind(since.0)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        found.iter().map(role).collect()
    }

    async fn settings(&self) -> Result<Vec<(String, serde_json::Value)>> {
        let found = sqlx::query("SELECT id, value FROM settings ORDER BY id")
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        found
            .iter()
            .map(|row| {
                let id: String = get(row, "id")?;
                let value = from_json(&get::<String>(row, "value")?, &id)?;
                Ok((id, value))
            })
            .collect()
    }

    async fn ensure_settings(&self, defaults: &[(String, serde_json::Value)]) -> Result<()> {
        self.insert_missing(
            "settings (id, value)",
            "id",
            2,
            defaults,
            |q, (id, value)| Ok(q.bind(id.as_str()).bind(to_json(value)?)),
        )
        .await
    }

    async fn set_setting(&self, id: &str, value: &serde_json::Value) -> Result<()> {
        let (id, value) = (id.to_string(), value.clone());
        self.db.write(move |tx| Box::pin(async move {
        let (id, value) = (id.as_str(), &value);
        tx::query("INSERT INTO settings (id, value) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET value = excluded.value")
            .bind(id)
            .bind(to_json(value)?)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(())
        })).await
    }
}
