-- Discussions, ignored users and unread threads, postgres flavour. Keep in step with
-- ../sqlite/0009_discussions_ignore.sql.

-- A discussion is a room with a parent room (Rocket.Chat's `prid`) and, when it was started
-- from a message, that message (`pmid`). Both are fixed at creation.
ALTER TABLE rooms ADD COLUMN prid TEXT;
ALTER TABLE rooms ADD COLUMN pmid TEXT;
CREATE INDEX rooms_prid ON rooms (prid);

-- chat.ignoreUser: the user ids this member ignores in this room (JSON array, Rocket.Chat's
-- subscription `ignored`).
ALTER TABLE subscriptions ADD COLUMN ignored TEXT NOT NULL DEFAULT '[]';

-- Threads with replies a follower has not read (Rocket.Chat's subscription `tunread`): written
-- by a reply for the thread's other followers, removed when the follower reads the thread.
-- No foreign keys: the rows die with the thread's deletion or the room's, checked on read.
CREATE TABLE thread_unreads (
    uid TEXT NOT NULL,
    rid TEXT NOT NULL,
    tmid TEXT NOT NULL,
    PRIMARY KEY (uid, rid, tmid)
);

-- The room's last message (Rocket.Chat's `lastMessage`): kept by the write path (a post that
-- shows in the room, the newest system message; the newest one left after a deletion), so a
-- room list reads it with one join. A reply shown only in its thread is never one.
ALTER TABLE rooms ADD COLUMN last_mid TEXT;
UPDATE rooms SET last_mid = (
    SELECT l.id FROM messages l
    WHERE l.rid = rooms.id
      AND ((l.extra::jsonb ->> 'tmid') IS NULL OR (l.extra::jsonb -> 'tshow') = 'true'::jsonb)
    ORDER BY l.ts DESC, l.id COLLATE "C" DESC LIMIT 1
);
