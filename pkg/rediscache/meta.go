package rediscache

import (
	"context"
	"fmt"

	"github.com/syncline/syncline/pkg/merkle"
)

// metaKey holds the cache's own metadata: field merkle_config, the tree
// shape the edges were built with (merkle.Config.String, e.g. "f16l2").
func (c *Cache) metaKey() string { return c.cfg.Prefix + "meta" }

// CheckConfig records the tree shape on first use and fails with
// merkle.ErrConfigMismatch when the keys under the prefix were built with
// another one: their edges would not be comparable with SQL's. Clear the
// prefix (or choose another) to change the shape.
func (c *Cache) CheckConfig(ctx context.Context) error {
	want := c.cfg.Tree.String()
	if err := c.client.HSetNX(ctx, c.metaKey(), "merkle_config", want).Err(); err != nil {
		return translate(ctx, "check config", err)
	}
	got, err := c.client.HGet(ctx, c.metaKey(), "merkle_config").Result()
	if err != nil {
		return translate(ctx, "check config", err)
	}
	if got != want {
		return fmt.Errorf("rediscache: prefix %q holds a tree built as %s, configured %s: %w",
			c.cfg.Prefix, got, want, merkle.ErrConfigMismatch)
	}
	return nil
}
