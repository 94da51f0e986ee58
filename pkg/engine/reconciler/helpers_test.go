package reconciler

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storepg"
	"github.com/syncline/syncline/pkg/store/storetest"
)

// newSQL opens a real SQL backend in a private schema.
func newSQL(t testing.TB) store.Backend {
	t.Helper()
	b, err := storepg.Open(context.Background(), storetest.PostgresURL(t), store.Config{Tree: merkle.DefaultConfig})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// newCache returns a cache on the machine's Redis under a private prefix.
func newCache(t testing.TB) *rediscache.Cache {
	t.Helper()
	c, _, _ := newCacheClient(t)
	return c
}

func newCacheClient(t testing.TB) (*rediscache.Cache, *redis.Client, string) {
	t.Helper()
	client, prefix := redistest.Client(t)
	c, err := rediscache.New(client, rediscache.Config{Prefix: prefix, Tree: merkle.DefaultConfig})
	require.NoError(t, err)
	return c, client, prefix
}

type writes struct {
	seq uint64
	ws  []store.Write
}

func (w *writes) put(id string, version uint64, payload string) *writes {
	w.seq++
	w.ws = append(w.ws, store.Write{Seq: w.seq, ID: id, Op: store.OpPut, Version: version,
		Payload: []byte(payload), ContentType: "application/octet-stream"})
	return w
}

func (w *writes) del(id string, version uint64) *writes {
	w.seq++
	w.ws = append(w.ws, store.Write{Seq: w.seq, ID: id, Op: store.OpDelete, Version: version})
	return w
}

// apply commits and clears the pending writes.
func (w *writes) apply(t testing.TB, b store.Backend) store.Result {
	t.Helper()
	res, err := b.ApplyBatch(context.Background(), w.ws)
	require.NoError(t, err)
	w.ws = w.ws[:0]
	return res
}

// fill writes n items "<prefix>.<i>" at version 1 in batches.
func fill(t testing.TB, b store.Backend, prefix string, n int) {
	t.Helper()
	w := &writes{}
	for i := range n {
		w.put(fmt.Sprintf("%s.%07d", prefix, i), 1, fmt.Sprintf("payload-%d", i))
		if len(w.ws) == 2000 {
			w.apply(t, b)
		}
	}
	if len(w.ws) > 0 {
		w.apply(t, b)
	}
}

func requireInSync(t testing.TB, sql SQL, c *rediscache.Cache) {
	t.Helper()
	ctx := context.Background()
	a, err := sql.Root(ctx)
	require.NoError(t, err)
	b, err := c.Tree().Root(ctx)
	require.NoError(t, err)
	require.Equal(t, a, b, "roots")
}

func testChecker(t testing.TB, sql SQL, c *rediscache.Cache) *Checker {
	t.Helper()
	ch, err := NewChecker(sql, c, Config{NoSettle: true})
	require.NoError(t, err)
	return ch
}
