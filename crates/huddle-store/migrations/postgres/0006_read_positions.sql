-- Posting in O(1) in the room's size, PostgreSQL flavour. Keep in step with
-- ../sqlite/0006_read_positions.sql (conventions as in 0001_init.sql).
--
-- A post used to add one to the unread count of every other member's row (and move its
-- updated_at), so its cost grew with the room. Now the room counts the posts that make members'
-- unread (`posts`, never decremented: deleting a message does not make it read) and remembers
-- when the last one came (`posted_at`); each membership remembers how many of them it had seen
-- when its own unread state was last written (`posts_seen`). A membership reads as
-- unread = unread + (posts - posts_seen), alert on and updated at `posted_at` when
-- posts > posts_seen. Existing rows start at 0 = 0: their stored unread state stays exact.
ALTER TABLE rooms ADD COLUMN posts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN posted_at BIGINT;
ALTER TABLE subscriptions ADD COLUMN posts_seen BIGINT NOT NULL DEFAULT 0;
