-- The TalkJS-style API, PostgreSQL flavour. Keep in step with ../sqlite/0002_talk.sql: same
-- tables, columns and indexes (conventions as in 0001_init.sql). Ids that order a listing are
-- compared with the "C" collation (Backend::bytewise), so their indexes carry it too.

-- TalkJS-only user fields (emails, phones, welcome message, role, availability text) as one
-- JSON object; existing users get the empty profile.
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';
-- list_users_after walks users in bytewise id order (the primary key uses the database's
-- collation, which may not be bytewise).
CREATE INDEX users_id_bytewise ON users (id COLLATE "C");

-- A client-chosen key that makes a retried post land once per room. Only keyed messages are
-- indexed; NULLs never collide.
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX messages_rid_idempotency_key ON messages (rid, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- History pages order by (ts, id) in both directions and continue from a cursor message: the
-- id tie-break joins the index, which supersedes messages_rid_ts.
CREATE INDEX messages_rid_ts_id ON messages (rid, ts, id COLLATE "C");
DROP INDEX messages_rid_ts;

-- When access was set to None: the participant keeps the messages up to this moment.
ALTER TABLE subscriptions ADD COLUMN revoked_at BIGINT;

-- Conversations list most recent activity first (the newest message, else the creation), then
-- id: an index on that very expression, so it is right whatever changes lm. Queries must spell
-- it exactly `COALESCE(lm, created_at)` to use it.
CREATE INDEX rooms_activity ON rooms ((COALESCE(lm, created_at)) DESC, id COLLATE "C");

-- The app's secret keys, in clear (HMAC needs them); revoked ones are kept for the record.
CREATE TABLE app_keys (
    id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    -- JSON array of event types; empty means all.
    events TEXT NOT NULL DEFAULT '[]',
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

-- Durable webhook deliveries, kept until delivered or given up.
CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    -- delete_webhook_endpoint removes the rows itself; the cascade is a backstop.
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
-- due_outbox: undelivered items in next_attempt_at order; attempts rides along so items that
-- used up their attempts are skipped on the index entry, without reading the row.
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, id COLLATE "C", attempts)
    WHERE delivered_at IS NULL;
-- An endpoint's delivery log, newest first, and deleting an endpoint's items.
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox (endpoint_id, created_at, id COLLATE "C");
