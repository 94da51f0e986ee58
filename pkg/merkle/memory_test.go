package merkle_test

import (
	"testing"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/merkle/merkletest"
)

func TestMemStoreConformance(t *testing.T) {
	t.Parallel()
	for _, c := range []merkle.Config{merkle.DefaultConfig, {Fanout: 16, Levels: 0}, {Fanout: 256, Levels: 1}} {
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			merkletest.Exercise(t, func(*testing.T) merkle.Store { return merkle.NewMemStore() }, merkletest.WithConfig(c))
		})
	}
}
