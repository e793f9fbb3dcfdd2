-- Notifications of new messages, PostgreSQL flavour. Keep in step with ../sqlite/0008_notifications.sql.
--
-- One row per (recipient, message) an e-mail is owed for, written by the post's own transaction
-- (so a crash between the commit and the mail loses nothing) only while e-mail notifications
-- are on. The mailer sends, per recipient and conversation, one e-mail for every pending row
-- once the oldest is due (`due_at` = the post's time + the batching window), then marks them.
-- `state`: 'pending', 'sent', 'skipped' (no address, or read meanwhile) or 'failed' (gave up).
-- No foreign keys: a deleted message or room leaves rows the mailer skips.
CREATE TABLE notification_emails (
    id TEXT PRIMARY KEY NOT NULL,
    uid TEXT NOT NULL,
    rid TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    done_at BIGINT
);
-- The mailer's scan: pending rows by due time; and a batch's rows by recipient and room.
CREATE INDEX notification_emails_due ON notification_emails (due_at) WHERE state = 'pending';
CREATE INDEX notification_emails_batch ON notification_emails (uid, rid, created_at) WHERE state = 'pending';
