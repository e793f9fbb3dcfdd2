-- Memberships are stored in the order of their key, (room, user), with no rowid: the row itself
-- is the (rid, uid) index. Before, a membership was a rowid row plus a random-id key index
-- (`id`) and a unique (rid, uid) index: two more B-trees written by every invite, join, kick
-- and leave, the random one a page of its own almost every time. Nothing looks a membership up
-- by `id` (it is the id shown to Rocket.Chat clients, unique as generated), so it is a plain
-- column now. Keep in step with ../postgres/0013_memberships_by_room.sql.
CREATE TABLE subscriptions_by_room (
    id TEXT NOT NULL,
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
    updated_at INTEGER NOT NULL,
    revoked_at INTEGER,
    f INTEGER NOT NULL DEFAULT 0,
    posts_seen INTEGER NOT NULL DEFAULT 0,
    ignored TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (rid, uid)
) WITHOUT ROWID;

INSERT INTO subscriptions_by_room (
    id, rid, uid, u_username, u_name, t, name, fname, ts, ls, open, alert, unread,
    user_mentions, group_mentions, roles, access, notify, updated_at, revoked_at, f,
    posts_seen, ignored
)
SELECT
    id, rid, uid, u_username, u_name, t, name, fname, ts, ls, open, alert, unread,
    user_mentions, group_mentions, roles, access, notify, updated_at, revoked_at, f,
    posts_seen, ignored
FROM subscriptions ORDER BY rid, uid;

DROP TABLE subscriptions;
ALTER TABLE subscriptions_by_room RENAME TO subscriptions;
-- uid breaks ties (users without a username) so paging is stable and still index-ordered.
CREATE INDEX subscriptions_rid_username ON subscriptions (rid, u_username, uid);
CREATE INDEX subscriptions_uid ON subscriptions (uid, updated_at);
