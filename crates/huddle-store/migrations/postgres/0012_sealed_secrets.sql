-- App secret keys are sealed at rest (AES-256-GCM, huddle-store's sealed.rs) with a key kept
-- outside the database. Rows written before this migration hold the clear secret (sealed = 0);
-- the server seals them when it opens the store with its secrets key.
ALTER TABLE app_keys ADD COLUMN sealed BIGINT NOT NULL DEFAULT 0;
