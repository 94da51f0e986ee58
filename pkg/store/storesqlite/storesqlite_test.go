package storesqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storesqlite"
	"github.com/syncline/syncline/pkg/store/storetest"
)

func openPath(t *testing.T, path string, cfg store.Config) *storesqlite.Store {
	t.Helper()
	s, err := storesqlite.Open(context.Background(), path, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func open(t *testing.T, cfg store.Config) store.Backend {
	t.Helper()
	return openPath(t, strings.TrimPrefix(storetest.SQLiteURL(t), "sqlite:"), cfg)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, open)
}

func TestOpenWithOtherTreeConfigFails(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	s := openPath(t, path, store.Config{})
	require.NoError(t, s.Close())
	_, err := storesqlite.Open(context.Background(), path, store.Config{Tree: merkle.Config{Fanout: 256, Levels: 2}})
	require.ErrorIs(t, err, store.ErrConfigMismatch)
}

func TestConcurrentOpenMigrates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := storesqlite.Open(context.Background(), path, store.Config{})
			errs[i] = err
			if err == nil {
				_ = s.Close()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

// Two stores (as two processes would) on one file serialize their batches.
func TestTwoHandlesOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	a := openPath(t, path, store.Config{})
	b := openPath(t, path, store.Config{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i, s := range []*storesqlite.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range 30 {
				_, err := s.ApplyBatch(ctx, []store.Write{{Seq: uint64(v + 1), ID: "shared.x", Op: store.OpPut,
					Version: uint64(v*2 + i + 1), Payload: []byte{byte(i)}}})
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	it, err := a.Get(ctx, "shared.x")
	require.NoError(t, err)
	require.Equal(t, uint64(60), it.Version)
	storetest.RequireConsistent(t, b, merkle.DefaultConfig)
}

func TestRejectsNonFilePaths(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		_, err := storesqlite.Open(context.Background(), p, store.Config{})
		require.Error(t, err, p)
	}
}
