-- The one write path: room origin, the per-room event log and outbox rows that point into it,
-- SQLite flavour. Keep in step with ../postgres/0003_room_events.sql: same tables, columns and
-- indexes (conventions as in 0001_init.sql).

-- Which API made a room ('rocketchat' or 'talkjs'), fixed at creation. Rooms that exist already
-- are Rocket.Chat's, except the TalkJS-style API's conversations: private and nameless (a
-- Rocket.Chat group always has a name, a direct message is type 'd').
ALTER TABLE rooms ADD COLUMN origin TEXT NOT NULL DEFAULT 'rocketchat';
UPDATE rooms SET origin = 'talkjs' WHERE t = 'p' AND name IS NULL;

-- The number of the room's last event: each committed change takes the next one while it holds
-- the room row, so a room's events are numbered in commit order without gaps. Existing rooms
-- start at 0 (no event yet).
ALTER TABLE rooms ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

-- One row per committed change to a room: `kind` names the change, `payload` is the JSON array
-- of what it did (core's RoomEventItem), written in the change's own transaction. No foreign
-- key to rooms: a deleted room's events stay, its deletion last, and a room created again with
-- the same id (a direct message, a client-chosen conversation id) goes on numbering after them.
CREATE TABLE room_events (
    rid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (rid, seq)
);

-- An outbox row written with a room change points at its event and at the item within it; its
-- body is built from that item when it is first sent (and stays '' until then). NULL for rows
-- whose body was written with them (user events, redeliveries of those).
ALTER TABLE webhook_outbox ADD COLUMN rid TEXT;
ALTER TABLE webhook_outbox ADD COLUMN seq INTEGER;
ALTER TABLE webhook_outbox ADD COLUMN item INTEGER;
