package storepg_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storepg"
	"github.com/syncline/syncline/pkg/store/storetest"
)

func open(t *testing.T, cfg store.Config) store.Backend {
	t.Helper()
	return openURL(t, storetest.PostgresURL(t), cfg)
}

func openURL(t *testing.T, url string, cfg store.Config) *storepg.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := storepg.Open(ctx, url, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, open)
}

func TestSearchPathSelectsSchema(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	s := openURL(t, url, store.Config{})
	var schema string
	require.NoError(t, s.Pool().QueryRow(context.Background(), `SELECT current_schema()`).Scan(&schema))
	require.Regexp(t, `^t_[0-9a-f]+$`, schema)
	var n int
	require.NoError(t, s.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'sync_items'`, schema).Scan(&n))
	require.Equal(t, 1, n)
}

func TestOpenWithOtherTreeConfigFails(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	openURL(t, url, store.Config{Tree: merkle.Config{Fanout: 16, Levels: 2}})
	_, err := storepg.Open(context.Background(), url, store.Config{Tree: merkle.Config{Fanout: 256, Levels: 1}})
	require.ErrorIs(t, err, store.ErrConfigMismatch)
	openURL(t, url, store.Config{Tree: merkle.Config{Fanout: 16, Levels: 2}})
}

// Several writers starting at once on an empty schema migrate it once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := storepg.Open(context.Background(), url, store.Config{})
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

func TestUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := storepg.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", store.Config{})
	require.ErrorIs(t, err, store.ErrUnavailable)
}

func TestOutageIsUnavailableAndRecovers(t *testing.T) {
	t.Parallel()
	url, proxy := storetest.ProxiedPostgresURL(t)
	s := openURL(t, url, store.Config{})
	ctx := context.Background()
	w := []store.Write{{Seq: 1, ID: "a", Op: store.OpPut, Version: 1, Payload: []byte("x")}}
	proxy.Down()
	_, err := s.ApplyBatch(ctx, w)
	require.ErrorIs(t, err, store.ErrUnavailable)
	_, err = s.Get(ctx, "a")
	require.ErrorIs(t, err, store.ErrUnavailable)
	proxy.Up()
	res, err := s.ApplyBatch(ctx, w)
	require.NoError(t, err)
	require.Len(t, res.Changes, 1)
}
