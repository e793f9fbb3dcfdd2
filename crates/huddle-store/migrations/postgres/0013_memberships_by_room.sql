-- A membership's key is (room, user): the unique (rid, uid) index becomes the primary key and
-- the index on the random `id` goes, one index less written by every invite, join, kick and
-- leave. Nothing looks a membership up by `id` (it is the id shown to Rocket.Chat clients,
-- unique as generated). Keep in step with ../sqlite/0013_memberships_by_room.sql.
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_pkey;
ALTER TABLE subscriptions ALTER COLUMN id SET NOT NULL;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_pkey PRIMARY KEY USING INDEX subscriptions_rid_uid;
