-- The TalkJS-style API, SQLite flavour. Keep in step with ../postgres/0002_talk.sql: same
-- tables, columns and indexes (conventions as in 0001_init.sql).

-- TalkJS-only user fields (emails, phones, welcome message, role, availability text) as one
-- JSON object; existing users get the empty profile.
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
-- list_users_after walks users in id order: the primary key already orders bytewise here
-- (PostgreSQL needs an index with the "C" collation for the same order).

-- A client-chosen key that makes a retried post land once per room. Only keyed messages are
-- indexed; NULLs never collide.
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX messages_rid_idempotency_key ON messages (rid, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- History pages order by (ts, id) in both directions and continue from a cursor message: the
-- id tie-break joins the index, which supersedes messages_rid_ts.
CREATE INDEX messages_rid_ts_id ON messages (rid, ts, id);
DROP INDEX messages_rid_ts;

-- When access was set to None: the participant keeps the messages up to this moment.
ALTER TABLE subscriptions ADD COLUMN revoked_at INTEGER;

-- Conversations list most recent activity first (the newest message, else the creation), then
-- id: an index on that very expression, so it is right whatever changes lm. Queries must spell
-- it exactly `COALESCE(lm, created_at)` to use it.
CREATE INDEX rooms_activity ON rooms (COALESCE(lm, created_at) DESC, id);

-- The app's secret keys, in clear (HMAC needs them); revoked ones are kept for the record.
CREATE TABLE app_keys (
    id TEXT PRIMARY KEY NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    -- JSON array of event types; empty means all.
    events TEXT NOT NULL DEFAULT '[]',
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

-- Durable webhook deliveries, kept until delivered or given up.
CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    -- delete_webhook_endpoint removes the rows itself; the cascade is a backstop.
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
-- due_outbox: undelivered items in next_attempt_at order; attempts rides along so items that
-- used up their attempts are skipped on the index entry, without reading the row.
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, id, attempts)
    WHERE delivered_at IS NULL;
-- An endpoint's delivery log, newest first, and deleting an endpoint's items.
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox (endpoint_id, created_at, id);
