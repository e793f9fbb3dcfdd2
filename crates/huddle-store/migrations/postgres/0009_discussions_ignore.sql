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
