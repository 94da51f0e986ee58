package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest/ingesttest"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// TestRoutes: durable writes go through the WAL with Sync-Route and are
// stored with their route; cache-route writes go to Redis alone.
func TestRoutes(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{Redis: true})
	ctx := tctx(t)
	h := h0(t, p)

	// Durable: the WAL carries the route, SQL stores it.
	r, err := p.Client.Put(ctx, "r.durable", []byte("d"), client.WithRoute(item.RouteDurable))
	require.NoError(t, err)
	require.Equal(t, "durable", h.walMsg(t, r.Seq).Header.Get(wal.HeaderRoute))
	d, err := p.Client.Put(ctx, "r.default", []byte("x"), client.WithRoute(item.RouteDefault))
	require.NoError(t, err)
	require.Empty(t, h.walMsg(t, d.Seq).Header.Values(wal.HeaderRoute), "the default route is the header's absence")
	page, err := p.Client.List(ctx, client.Query{Prefix: "r"}, "", 0, client.WithStrong())
	require.NoError(t, err)
	require.Equal(t, []client.ListEntry{
		{ID: "r.default", Version: d.Seq, ContentType: item.ContentTypeBinary},
		{ID: "r.durable", Version: r.Seq, ContentType: item.ContentTypeBinary, Route: "durable"},
	}, page.Items)
	// A delete has no route: Sync-Route: durable on a delete is dropped.
	resp := h.raw(t, "sync.del.r.default", nil, nats.Header{"Sync-Route": {"durable"}})
	require.Empty(t, resp.Header.Get("Nats-Service-Error-Code"))
	require.Empty(t, h.walMsg(t, d.Seq+1).Header.Values(wal.HeaderRoute))

	// Cache: Redis only, nothing in the WAL, visible to a cache-route get.
	walBefore := walLast(t, p)
	c, err := p.Client.PutCache(ctx, "r.session", []byte("s1"), time.Minute, client.WithState("hot"))
	require.NoError(t, err)
	require.Equal(t, client.CacheResult{ID: "r.session", Version: 1, Applied: true}, c)
	c, err = p.Client.PutCache(ctx, "r.session", []byte("s2"), 0)
	require.NoError(t, err)
	require.Equal(t, uint64(2), c.Version)
	it, err := p.Client.GetCache(ctx, "r.session")
	require.NoError(t, err)
	require.Equal(t, client.Item{ID: "r.session", Version: 2, Payload: []byte("s2"), ContentType: item.ContentTypeBinary, Source: "l2"}, it)
	e, ok, err := p.Cache.Get(context.Background(), "r.session")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, e.CacheOnly, "no leaf: outside the merkle tree")
	c, err = p.Client.PutCache(ctx, "r.session", []byte("old"), 0, client.WithVersion(1))
	require.NoError(t, err)
	require.Equal(t, client.CacheResult{ID: "r.session", Version: 2, Applied: false}, c)
	require.Equal(t, walBefore, walLast(t, p), "the cache route never touches the WAL")
	n, err := p.Client.Count(ctx, client.Query{Prefix: "r.session"}, client.WithStrong())
	require.NoError(t, err)
	require.Zero(t, n, "nor SQL")
	_, err = p.Client.Get(ctx, "r.session")
	require.ErrorIs(t, err, item.ErrNotFound, "this Reader is SQL only")
	_, err = p.Client.GetCache(ctx, "r.durable")
	require.ErrorIs(t, err, item.ErrNotFound, "durable items are never in Redis")
	resp = h.raw(t, "sync.put.r.raw", []byte("v"), nats.Header{"Sync-Route": {"cache"}, "Sync-Cache-TTL": {"30"}})
	require.JSONEq(t, `{"id":"r.raw","version":1,"seq":0,"route":"cache","applied":true}`, string(resp.Data))

	c, err = p.Client.DeleteCache(ctx, "r.session")
	require.NoError(t, err)
	require.Equal(t, client.CacheResult{ID: "r.session", Version: 2, Applied: true}, c)
	_, err = p.Client.DeleteCache(ctx, "r.session")
	require.ErrorIs(t, err, item.ErrNotFound)
	_, err = p.Client.GetCache(ctx, "r.session")
	require.ErrorIs(t, err, item.ErrNotFound)

	requireError(t, h.raw(t, "sync.put.r.x", []byte("v"), nats.Header{"Sync-Route": {"fast"}}), item.CodeInvalidHeader)
	requireError(t, h.raw(t, "sync.get.r.x", nil, nats.Header{"Sync-Route": {"fast"}}), item.CodeInvalidHeader)
	_, err = p.Client.Put(ctx, "r.x", []byte("v"), client.WithRoute(item.RouteCache))
	require.ErrorIs(t, err, item.ErrInvalidHeader, "the client sends cache writes with PutCache")
}

func TestCacheRouteWithoutRedisIs503(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	_, err := p.Client.PutCache(tctx(t), "x", []byte("v"), time.Minute)
	require.ErrorIs(t, err, item.ErrUnavailable)
	_, err = p.Client.GetCache(tctx(t), "x")
	require.ErrorIs(t, err, item.ErrUnavailable)
}

// TestOriginReachesTheCommitRecord: Sync-Origin travels through the WAL
// into the commit record's change, with the route and payload hash.
func TestOriginReachesTheCommitRecord(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	ctx := tctx(t)
	r, err := p.Client.Put(ctx, "o.1", []byte("v"), client.WithOrigin("east"), client.WithRoute(item.RouteDurable))
	require.NoError(t, err)
	require.Equal(t, "east", h0(t, p).walMsg(t, r.Seq).Header.Get(wal.HeaderOrigin))
	_, err = p.Client.Delete(ctx, "o.2", client.WithOrigin("west"))
	require.NoError(t, err)
	requireError(t, h0(t, p).raw(t, "sync.put.o.3", []byte("v"), nats.Header{"Sync-Origin": {"a/b"}}), item.CodeInvalidHeader)

	var changes []wal.CommitChange
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = p.Client.FollowCommits(fctx, 1, func(_ uint64, rec wal.CommitRecord) error {
		changes = append(changes, rec.Changes...)
		if len(changes) >= 2 {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, changes, 2)
	byID := map[string]wal.CommitChange{}
	for _, c := range changes {
		byID[c.ID] = c
	}
	require.Equal(t, "east", byID["o.1"].Origin)
	require.Equal(t, "durable", byID["o.1"].Route)
	require.Equal(t, "4c94485e0c21ae6c41ce1dfe7b6bfaceea5ab68e40a2476f50208e526f506080", byID["o.1"].PayloadSHA256)
	require.Equal(t, "west", byID["o.2"].Origin)
	require.True(t, byID["o.2"].Deleted)
	require.Empty(t, byID["o.2"].PayloadSHA256)
}
