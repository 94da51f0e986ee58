-- +goose Up
-- Per-write routing (docs/query.md): 'durable' keeps the item out of Redis;
-- NULL is the default route. Set on puts only.
ALTER TABLE sync_items ADD COLUMN route TEXT NULL;

-- +goose Down
ALTER TABLE sync_items DROP COLUMN route;
