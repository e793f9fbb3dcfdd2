-- Invite links, room bans and roles as Rocket.Chat keeps them, postgres flavour. Keep in step with
-- ../sqlite/0004_invites_bans_roles.sql: same tables, columns and indexes (conventions as
-- in 0001_init.sql).

-- A role's id is what users, memberships and permissions hold: the name for the default roles
-- (and every role that exists already), a random id for roles made later, so a rename keeps
-- every grant. updated_at feeds roles.sync.
ALTER TABLE roles ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE roles ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE roles SET id = name WHERE id = '';
CREATE UNIQUE INDEX roles_id ON roles (id);

-- Deleted roles as they were, for roles.sync's "remove" list.
CREATE TABLE roles_removed (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    description TEXT NOT NULL,
    protected BIGINT NOT NULL DEFAULT 0,
    removed_at BIGINT NOT NULL
);

-- An invite link: id (lists, removeInvite) and token (the link itself) are unrelated random
-- values. expires is NULL for a link that never expires; max_uses 0 is unlimited.
CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    rid TEXT NOT NULL,
    user_id TEXT NOT NULL,
    days BIGINT NOT NULL,
    max_uses BIGINT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX invites_token ON invites (token);
CREATE INDEX invites_rid_user ON invites (rid, user_id);

-- A user banned from a room (written with the removal, by the room write path).
CREATE TABLE room_bans (
    rid TEXT NOT NULL,
    uid TEXT NOT NULL,
    username TEXT NOT NULL,
    name TEXT,
    banned_by TEXT NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (rid, uid)
);
