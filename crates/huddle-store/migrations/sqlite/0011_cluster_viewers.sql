-- Cluster mode: who has a live view of which room on which node (a conversation or room
-- message subscription), so a post on any node notifies nobody who is looking at it elsewhere.
-- Each node writes the changes of its own set about once a second; the rows of a node that
-- stops beating are removed with its presence rows. SQLite never runs a cluster; it has the
-- same table so both backends stay numbered alike (keep in step with the other backend's
-- 0011_cluster_viewers.sql).
CREATE TABLE cluster_viewers (
    rid TEXT NOT NULL,
    user_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    PRIMARY KEY (rid, user_id, node_id)
);
CREATE INDEX cluster_viewers_node ON cluster_viewers (node_id);
