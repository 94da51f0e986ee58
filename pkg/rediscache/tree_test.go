package rediscache_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/merkle/merkletest"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
)

// TestTreeConformance runs the merkle.Store suite on the Redis tree, with
// the default shape and a wide one.
func TestTreeConformance(t *testing.T) {
	t.Parallel()
	for _, cfg := range []merkle.Config{merkle.DefaultConfig, {Fanout: 256, Levels: 1}} {
		t.Run(cfg.String(), func(t *testing.T) {
			t.Parallel()
			merkletest.Exercise(t, func(t *testing.T) merkle.Store {
				client, prefix := redistest.Client(t)
				c, err := rediscache.New(client, rediscache.Config{Prefix: prefix, Tree: cfg})
				require.NoError(t, err)
				return c.Tree()
			}, merkletest.WithConfig(cfg))
		})
	}
}
