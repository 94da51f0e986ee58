-- +goose Up
-- Ids and tree keys compare bytewise (COLLATE "C") whatever the database
-- collation, so that range predicates and ORDER BY agree with Go.
CREATE TABLE IF NOT EXISTS sync_items (
    id                text COLLATE "C" PRIMARY KEY,
    version           bigint  NOT NULL CHECK (version > 0),
    payload           bytea   NOT NULL DEFAULT ''::bytea,
    content_type      text    NOT NULL DEFAULT '',
    state             text COLLATE "C" NULL,
    deleted           boolean NOT NULL DEFAULT false,
    leaf_hash         bytea   NULL CHECK (leaf_hash IS NULL OR octet_length(leaf_hash) = 32),
    payload_sum       bytea   NOT NULL CHECK (octet_length(payload_sum) = 32),
    cache_ttl_seconds bigint  NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL,
    wal_seq           bigint  NOT NULL DEFAULT 0
) WITH (fillfactor = 90);
-- count/list/delete by state over live items
CREATE INDEX IF NOT EXISTS sync_items_state_idx ON sync_items (state, id) WHERE state IS NOT NULL AND NOT deleted;
-- tombstone GC
CREATE INDEX IF NOT EXISTS sync_items_tombstones_idx ON sync_items (updated_at) WHERE deleted;

CREATE TABLE IF NOT EXISTS sync_merkle (
    parent text COLLATE "C" NOT NULL,
    child  text COLLATE "C" NOT NULL,
    h0 bigint NOT NULL, h1 bigint NOT NULL, h2 bigint NOT NULL, h3 bigint NOT NULL,
    h4 bigint NOT NULL, h5 bigint NOT NULL, h6 bigint NOT NULL, h7 bigint NOT NULL,
    PRIMARY KEY (parent, child)
) WITH (fillfactor = 70); -- room for HOT updates of the hot upper edges

-- Leaves set through the raw tree API (Store.Tree().Apply) for ids that
-- have no live item row; item leaves live in sync_items.leaf_hash.
CREATE TABLE IF NOT EXISTS sync_merkle_leaves (
    id   text COLLATE "C" PRIMARY KEY,
    leaf bytea NOT NULL CHECK (octet_length(leaf) = 32)
);

CREATE TABLE IF NOT EXISTS sync_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS sync_meta;
DROP TABLE IF EXISTS sync_merkle_leaves;
DROP TABLE IF EXISTS sync_merkle;
DROP TABLE IF EXISTS sync_items;
