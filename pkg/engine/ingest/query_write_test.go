package ingest_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/engine/ingest/ingesttest"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

const tctxTimeout = 5 * time.Second

func TestDelPrefixWritesTombstonesThroughTheWAL(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	putAll(t, p.Client, edgeIDs)
	_, err := p.Client.Put(tctx(t), "a.b.v", []byte("x"), client.WithVersion(1000))
	require.NoError(t, err)
	versions := map[string]uint64{}
	require.NoError(t, p.Client.ListAll(tctx(t), client.Query{}, 0, func(e client.ListEntry) error {
		versions[e.ID] = e.Version
		return nil
	}, client.WithStrong()))
	before := walLast(t, p)

	res, err := p.Client.DeletePrefix(tctx(t), client.Query{Prefix: "a.b"}, client.WithOrigin("janitor"))
	require.NoError(t, err)
	gone := covered("a.b", append(append([]string{}, edgeIDs...), "a.b.v"))
	require.Equal(t, len(gone), res.Count)
	require.Equal(t, before+uint64(len(gone)), res.Seq)
	// Every tombstone is a WAL delete at the item's version + 1.
	h := h0(t, p)
	for seq := before + 1; seq <= res.Seq; seq++ {
		m := h.walMsg(t, seq)
		require.Equal(t, "del", m.Header.Get(wal.HeaderOp))
		require.Equal(t, "janitor", m.Header.Get(wal.HeaderOrigin))
		want := versions[m.Header.Get(wal.HeaderID)] + 1
		require.Equal(t, strconv.FormatUint(want, 10), m.Header.Get(wal.HeaderVersion))
	}
	_, err = p.Client.Get(tctx(t), "a.b.c", client.WithAfterSeq(res.Seq))
	require.ErrorIs(t, err, item.ErrNotFound)
	var left []string
	for _, id := range edgeIDs {
		if !item.Covers("a.b", id) {
			left = append(left, id)
		}
	}
	require.Equal(t, covered("", left), listIDs(t, p.Client, client.Query{}, 0), "a.bc, a.b_ ... survive")

	// Delete by state, and the whole keyspace only when asked to.
	_, err = p.Client.Put(tctx(t), "s.1", []byte("x"), client.WithState("done"))
	require.NoError(t, err)
	_, err = p.Client.Put(tctx(t), "s.2", []byte("x"), client.WithState("todo"))
	require.NoError(t, err)
	res, err = p.Client.DeletePrefix(tctx(t), client.Query{State: "done"})
	require.NoError(t, err)
	require.Equal(t, 1, res.Count)
	requireError(t, h.raw(t, "sync.delprefix", nil, nil), item.CodeInvalidJSON)
	_, err = p.Client.DeletePrefix(tctx(t), client.Query{})
	require.ErrorIs(t, err, item.ErrInvalidJSON)
	res, err = p.Client.DeletePrefix(tctx(t), client.Query{All: true})
	require.NoError(t, err)
	require.Equal(t, len(left)+1, res.Count)
	n, err := p.Client.Count(tctx(t), client.Query{}, client.WithStrong())
	require.NoError(t, err)
	require.Zero(t, n)
	res, err = p.Client.DeletePrefix(tctx(t), client.Query{Prefix: "nothing"})
	require.NoError(t, err)
	require.Equal(t, client.DeleteResult{}, res)
	requireError(t, h.raw(t, "sync.delprefix.a", nil, nats.Header{"Sync-Origin": {"a b"}}), item.CodeInvalidHeader)
}

func TestDelPrefixInRequestsOfLimit(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{Query: ingest.QueryConfig{DeleteLimit: 7, MaxDeleteLimit: 7, MaxInFlight: 3}})
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("bulk.%02d", i))
	}
	putAll(t, p.Client, ids)
	resp := h0(t, p).raw(t, "sync.delprefix.bulk", []byte(`{"limit":100}`), nil)
	require.JSONEq(t, fmt.Sprintf(`{"count":7,"seq":%d,"more":true}`, 47), string(resp.Data))
	res, err := p.Client.DeletePrefix(tctx(t), client.Query{Prefix: "bulk"})
	require.NoError(t, err)
	require.Equal(t, 33, res.Count, "the client asks again while there is more")
	require.Empty(t, listIDs(t, p.Client, client.Query{Prefix: "bulk"}, 0))
}

func TestSetState(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	ctx := tctx(t)
	put, err := p.Client.Put(ctx, "o.1", []byte(`{"n":1}`), client.WithState("open"), client.WithVersion(10),
		client.WithRoute(item.RouteDurable), client.WithCacheTTL(time.Minute))
	require.NoError(t, err)
	r, err := p.Client.SetState(ctx, "o.1", "closed", client.WithOrigin("ops"))
	require.NoError(t, err)
	require.Equal(t, uint64(11), r.Version)
	require.Greater(t, r.Seq, put.Seq)
	m := h0(t, p).walMsg(t, r.Seq)
	require.Equal(t, "closed", m.Header.Get(wal.HeaderState))
	require.Equal(t, "durable", m.Header.Get(wal.HeaderRoute), "the route is kept")
	require.Equal(t, "60", m.Header.Get(wal.HeaderCacheTTL), "the cache TTL is kept")
	require.Equal(t, "ops", m.Header.Get(wal.HeaderOrigin))
	require.Equal(t, item.ContentTypeJSON, m.Header.Get(wal.HeaderContentType))
	require.Equal(t, `{"n":1}`, string(m.Data))
	got, err := p.Client.Get(ctx, "o.1", client.WithAfterSeq(r.Seq))
	require.NoError(t, err)
	require.Equal(t, "closed", got.State)
	require.Equal(t, `{"n":1}`, string(got.Payload))

	// An explicit version must be above the current one; "" clears.
	_, err = p.Client.SetState(ctx, "o.1", "x", client.WithVersion(11))
	require.ErrorIs(t, err, item.ErrInvalidVersion)
	r, err = p.Client.SetState(ctx, "o.1", "", client.WithVersion(50))
	require.NoError(t, err)
	require.Equal(t, uint64(50), r.Version)
	got, err = p.Client.Get(ctx, "o.1", client.WithAfterSeq(r.Seq))
	require.NoError(t, err)
	require.Empty(t, got.State)
	require.Equal(t, uint64(50), got.Version)

	_, err = p.Client.SetState(ctx, "missing", "x")
	require.ErrorIs(t, err, item.ErrNotFound)
	h := h0(t, p)
	requireError(t, h.raw(t, "sync.setstate.o.1", []byte(`{}`), nil), item.CodeInvalidJSON)
	requireError(t, h.raw(t, "sync.setstate.o.1", []byte(`{"state":"a b"}`), nil), item.CodeInvalidHeader)
	requireError(t, h.raw(t, "sync.setstate.o*", []byte(`{"state":"a"}`), nil), item.CodeInvalidID)
	requireError(t, h.raw(t, "sync.setstate.o.1", []byte(`{"state":"a"}`), nats.Header{"Sync-Version": {"0"}}), item.CodeInvalidVersion)
}

// TestListingUnderConcurrentWrites: while writers put, rewrite and delete
// ids all around them, a paged listing returns every id that exists during
// the whole listing exactly once, in order, and no id twice.
func TestListingUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	const stable = 150
	var stableIDs []string
	for i := range stable {
		stableIDs = append(stableIDs, fmt.Sprintf("p.%03d", i))
	}
	pl, err := p.Client.NewPipeline(64)
	require.NoError(t, err)
	defer pl.Close()
	for _, id := range stableIDs {
		_, err := pl.Put(tctx(t), id, []byte("stable"))
		require.NoError(t, err)
	}
	require.NoError(t, pl.Wait(tctx(t)))
	_, err = p.Client.Count(tctx(t), client.Query{}, client.WithStrong()) // the writers caught up
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var churned atomic.Int64
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				n := (i*7 + w*13) % stable
				// Neighbours of stable ids come and go; stable ids get new versions.
				churn := fmt.Sprintf("p.%03d.c%d", n, w)
				if i%2 == 0 {
					_, _ = p.Client.Put(ctx, churn, []byte("churn"))
				} else {
					_, _ = p.Client.Delete(ctx, churn)
				}
				_, _ = p.Client.Put(ctx, fmt.Sprintf("p.%03d", n), []byte(fmt.Sprintf("v%d", i)))
				_, _ = p.Client.Put(ctx, fmt.Sprintf("p.%03da", n), []byte("between"))
				churned.Add(1)
			}
		}()
	}
	seen := map[string]int{}
	var order []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := p.Client.List(tctx(t), client.Query{Prefix: "p"}, cursor, 5)
		require.NoError(t, err)
		for _, e := range page.Items {
			seen[e.ID]++
			order = append(order, e.ID)
		}
		if !page.More {
			break
		}
		cursor = page.Cursor
		// At least one round of writes lands between two pages.
		n := churned.Load()
		require.Eventually(t, func() bool { return churned.Load() > n }, 10*time.Second, time.Millisecond)
	}
	cancel()
	wg.Wait()
	require.Positive(t, churned.Load())
	for _, id := range stableIDs {
		require.Equal(t, 1, seen[id], "stable id %s", id)
	}
	for id, n := range seen {
		require.Equal(t, 1, n, "id %s listed %d times", id, n)
	}
	for i := 1; i < len(order); i++ {
		require.Less(t, order[i-1], order[i], "listing order")
	}
}

func walLast(t *testing.T, p *ingesttest.Pipeline) uint64 {
	t.Helper()
	st, err := p.JS.Stream(tctx(t), p.Names.WALStream())
	require.NoError(t, err)
	info, err := st.Info(tctx(t))
	require.NoError(t, err)
	return info.State.LastSeq
}
