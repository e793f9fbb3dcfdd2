-- Huddle schema, SQLite flavour. Keep in step with ../postgres/0001_init.sql: same tables,
-- columns and indexes. Times are milliseconds since the epoch, booleans are 0/1 integers, lists
-- and maps are JSON text: the types the sqlx Any driver decodes the same way on both backends.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT,
    -- Lower-cased in Rust (not by SQL lower(), which is ASCII-only in SQLite) for
    -- case-insensitive uniqueness and lookups.
    username_lower TEXT,
    name TEXT NOT NULL,
    email TEXT,
    email_lower TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT,
    -- JSON array in the order the application keeps; user_roles is the searchable copy.
    roles TEXT NOT NULL DEFAULT '[]',
    active INTEGER NOT NULL DEFAULT 1,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    status_text TEXT NOT NULL,
    custom TEXT NOT NULL DEFAULT '{}',
    photo_url TEXT,
    locale TEXT,
    require_password_change INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_login INTEGER
);
CREATE UNIQUE INDEX users_username_lower ON users (username_lower);
CREATE UNIQUE INDEX users_email_lower ON users (email_lower);
-- Few users are inactive: lets list_members count them without walking a whole room.
CREATE INDEX users_inactive ON users (id) WHERE active = 0;

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role, user_id);

CREATE TABLE login_tokens (
    hashed TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT,
    last_part TEXT NOT NULL,
    bypass_two_factor INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
-- Personal access token names are unique per user; session tokens have no name (NULLs differ).
CREATE UNIQUE INDEX login_tokens_user_name ON login_tokens (user_id, name);

CREATE TABLE rooms (
    id TEXT PRIMARY KEY NOT NULL,
    t TEXT NOT NULL,
    -- NULL for direct messages, unique otherwise.
    name TEXT,
    fname TEXT,
    topic TEXT,
    description TEXT,
    announcement TEXT,
    read_only INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    is_default INTEGER NOT NULL DEFAULT 0,
    join_code TEXT,
    creator_id TEXT,
    creator_username TEXT,
    creator_name TEXT,
    msgs INTEGER NOT NULL DEFAULT 0,
    users_count INTEGER NOT NULL DEFAULT 0,
    lm INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    dm_usernames TEXT NOT NULL DEFAULT '[]',
    dm_uids TEXT NOT NULL DEFAULT '[]',
    subject TEXT,
    photo_url TEXT,
    welcome_messages TEXT NOT NULL DEFAULT '[]',
    custom TEXT NOT NULL DEFAULT '{}',
    guest_access INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX rooms_name ON rooms (name);
CREATE INDEX rooms_default ON rooms (id) WHERE is_default = 1;

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    rid TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    -- No cascade from users: delete_user removes memberships itself so room counters stay exact.
    uid TEXT NOT NULL REFERENCES users (id),
    -- Denormalised so a page of a huge room is read in username order straight off an index.
    u_username TEXT NOT NULL,
    u_name TEXT,
    t TEXT NOT NULL,
    name TEXT NOT NULL,
    fname TEXT,
    ts INTEGER NOT NULL,
    ls INTEGER,
    open INTEGER NOT NULL DEFAULT 1,
    alert INTEGER NOT NULL DEFAULT 0,
    unread INTEGER NOT NULL DEFAULT 0,
    user_mentions INTEGER NOT NULL DEFAULT 0,
    group_mentions INTEGER NOT NULL DEFAULT 0,
    roles TEXT NOT NULL DEFAULT '[]',
    access TEXT NOT NULL DEFAULT 'ReadWrite',
    notify TEXT NOT NULL DEFAULT 'true',
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX subscriptions_rid_uid ON subscriptions (rid, uid);
-- uid breaks ties (users without a username) so paging is stable and still index-ordered.
CREATE INDEX subscriptions_rid_username ON subscriptions (rid, u_username, uid);
CREATE INDEX subscriptions_uid ON subscriptions (uid, updated_at);

CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    rid TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    msg TEXT NOT NULL,
    ts INTEGER NOT NULL,
    u_id TEXT NOT NULL,
    u_username TEXT NOT NULL,
    u_name TEXT,
    t TEXT,
    updated_at INTEGER NOT NULL,
    edited_at INTEGER,
    edited_by_id TEXT,
    edited_by_username TEXT,
    edited_by_name TEXT,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX messages_rid_ts ON messages (rid, ts);

CREATE TABLE permissions (
    id TEXT PRIMARY KEY NOT NULL,
    roles TEXT NOT NULL DEFAULT '[]',
    updated_at INTEGER NOT NULL
);

CREATE TABLE roles (
    name TEXT PRIMARY KEY NOT NULL,
    scope TEXT NOT NULL,
    description TEXT NOT NULL,
    protected INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE settings (
    id TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
