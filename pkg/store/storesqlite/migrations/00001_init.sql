-- +goose Up
-- TEXT and BLOB compare bytewise (BINARY), so id order is Go's string order.
-- updated_at is Unix nanoseconds (UTC); deleted is 0/1.
CREATE TABLE IF NOT EXISTS sync_items (
    id                TEXT PRIMARY KEY NOT NULL,
    version           INTEGER NOT NULL CHECK (version > 0),
    payload           BLOB    NOT NULL DEFAULT x'',
    content_type      TEXT    NOT NULL DEFAULT '',
    state             TEXT    NULL,
    deleted           INTEGER NOT NULL DEFAULT 0,
    leaf_hash         BLOB    NULL CHECK (leaf_hash IS NULL OR length(leaf_hash) = 32),
    payload_sum       BLOB    NOT NULL CHECK (length(payload_sum) = 32),
    cache_ttl_seconds INTEGER NOT NULL DEFAULT 0,
    updated_at        INTEGER NOT NULL,
    wal_seq           INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sync_items_state_idx ON sync_items (state, id) WHERE state IS NOT NULL AND deleted = 0;
CREATE INDEX IF NOT EXISTS sync_items_tombstones_idx ON sync_items (updated_at) WHERE deleted = 1;

CREATE TABLE IF NOT EXISTS sync_merkle (
    parent TEXT NOT NULL,
    child  TEXT NOT NULL,
    h0 INTEGER NOT NULL, h1 INTEGER NOT NULL, h2 INTEGER NOT NULL, h3 INTEGER NOT NULL,
    h4 INTEGER NOT NULL, h5 INTEGER NOT NULL, h6 INTEGER NOT NULL, h7 INTEGER NOT NULL,
    PRIMARY KEY (parent, child)
) WITHOUT ROWID;

-- Leaves set through the raw tree API (Store.Tree().Apply) for ids that
-- have no live item row; item leaves live in sync_items.leaf_hash.
CREATE TABLE IF NOT EXISTS sync_merkle_leaves (
    id   TEXT PRIMARY KEY NOT NULL,
    leaf BLOB NOT NULL CHECK (length(leaf) = 32)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sync_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS sync_meta;
DROP TABLE IF EXISTS sync_merkle_leaves;
DROP TABLE IF EXISTS sync_merkle;
DROP TABLE IF EXISTS sync_items;
