-- Rocket.Chat parity: what the realtime protocol and the REST endpoints clients call need to keep,
-- sqlite flavour. Keep in step with ../postgres/0005_rc_parity.sql (conventions as in 0001_init.sql).

-- The status a user chose (Rocket.Chat's statusDefault): `status` is what others see, offline
-- while no realtime connection is open; this is what they come back as.
ALTER TABLE users ADD COLUMN status_default TEXT NOT NULL DEFAULT 'online';
-- users.getPreferences / users.setPreferences: a JSON object of the client's preferences.
ALTER TABLE users ADD COLUMN preferences TEXT NOT NULL DEFAULT '{}';

-- A membership that ended (left, kicked, room deleted), so that `subscriptions/get` and
-- `rooms/get` with a date can report it in their `remove` lists, as Rocket.Chat's trash does.
-- `id` is the subscription's id. No foreign keys: the room and the user may be gone.
CREATE TABLE subscription_removals (
    id TEXT NOT NULL,
    rid TEXT NOT NULL,
    uid TEXT NOT NULL,
    removed_at INTEGER NOT NULL
);
CREATE INDEX subscription_removals_uid ON subscription_removals (uid, removed_at);

-- A user's starred messages (chat.starMessage): the user's own marks, not a change to the room.
CREATE TABLE message_stars (
    uid TEXT NOT NULL,
    mid TEXT NOT NULL,
    rid TEXT NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (uid, mid)
);
CREATE INDEX message_stars_rid ON message_stars (uid, rid);

-- Deleted messages (chat.getDeletedMessages, chat.syncMessages, thread sync): written with
-- the deletion. No foreign key: the room may be gone too.
CREATE TABLE message_deletions (
    id TEXT NOT NULL,
    rid TEXT NOT NULL,
    -- What thread sync needs: the thread the message replied to, and whether it started one.
    tmid TEXT,
    thread INTEGER NOT NULL DEFAULT 0,
    deleted_at INTEGER NOT NULL
);
CREATE INDEX message_deletions_rid ON message_deletions (rid, deleted_at);

-- groups.setEncrypted: the room's end-to-end flag (clients encrypt; the server keeps and shows it).
ALTER TABLE rooms ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
-- rooms.favorite: the member's own star on the room (Rocket.Chat's subscription `f`).
ALTER TABLE subscriptions ADD COLUMN f INTEGER NOT NULL DEFAULT 0;

-- users.setAvatar: an uploaded image (base64 of its bytes, with its type) or an image URL,
-- served at /avatar/{username}; no row means the generated initials image.
CREATE TABLE avatars (
    uid TEXT PRIMARY KEY NOT NULL,
    content_type TEXT NOT NULL,
    data TEXT NOT NULL,
    url TEXT,
    etag TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- chat.reportMessage: reports for administrators (moderation.reports), with the message as it
-- was reported (it may be edited or deleted since).
CREATE TABLE message_reports (
    id TEXT PRIMARY KEY NOT NULL,
    mid TEXT NOT NULL,
    rid TEXT NOT NULL,
    reporter_id TEXT NOT NULL,
    reporter_username TEXT NOT NULL,
    description TEXT NOT NULL,
    message TEXT NOT NULL,
    ts INTEGER NOT NULL
);
CREATE INDEX message_reports_mid ON message_reports (mid, ts);
