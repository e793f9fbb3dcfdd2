-- Cluster mode (several `huddle serve` nodes on one PostgreSQL database, events over NATS): one
-- heartbeat row per running node. A node is live while its row is fresh; revocations wait for
-- the acknowledgement of every live node, and a survivor removes the rows of nodes that stopped
-- beating. SQLite never runs a cluster; it has the same table so both backends stay numbered
-- alike (keep in step with the other backend's 0007_cluster.sql).
CREATE TABLE cluster_nodes (
    node_id TEXT PRIMARY KEY,
    -- Epoch milliseconds.
    started_at BIGINT NOT NULL,
    beat_at BIGINT NOT NULL
);

-- Which nodes a user has realtime connections on: the user goes offline when the last row goes,
-- whether their last socket closed or their node stopped beating (a survivor removes the rows
-- of nodes that are not live).
CREATE TABLE cluster_presence (
    user_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    PRIMARY KEY (user_id, node_id)
);
CREATE INDEX cluster_presence_node ON cluster_presence (node_id);
