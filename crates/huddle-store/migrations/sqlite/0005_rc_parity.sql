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
