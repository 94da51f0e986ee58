package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/merkle/merkletest"
	"github.com/syncline/syncline/pkg/store"
)

// Open returns a fresh, empty Backend built with cfg, closed when t ends.
type Open func(t *testing.T, cfg store.Config) store.Backend

// Exercise runs the conformance suite on the Backend that open returns: the
// same cases for every adapter. Each case opens its own store.
func Exercise(t *testing.T, open Open) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, open Open)
	}{
		{"LWWVersions", testLWWVersions},
		{"LWWTieBreaks", testLWWTieBreaks},
		{"UnversionedTakesSeq", testUnversioned},
		{"TombstoneForAbsentID", testTombstoneAbsent},
		{"BatchDuplicates", testBatchDuplicates},
		{"RowErrors", testRowErrors},
		{"GetAndScan", testGetAndScan},
		{"PrefixListing", testPrefixListing},
		{"StateListing", testStateListing},
		{"GCTombstones", testGC},
		{"TreeMatchesRebuild", testTreeMatchesRebuild},
		{"TreeConfigs", testTreeConfigs},
		{"ConcurrentBatches", testConcurrent},
		{"LWWProperty", testProperty},
	}
	t.Run("MerkleStore", func(t *testing.T) {
		t.Parallel()
		merkletest.Exercise(t, func(t *testing.T) merkle.Store { return open(t, defaultConfig()).Tree() })
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, open)
		})
	}
}

// clock is a settable time source.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func put(seq uint64, id string, version uint64, payload string) store.Write {
	return store.Write{Seq: seq, ID: id, Op: store.OpPut, Version: version, Payload: []byte(payload)}
}

func del(seq uint64, id string, version uint64) store.Write {
	return store.Write{Seq: seq, ID: id, Op: store.OpDelete, Version: version}
}

func apply(t testing.TB, b store.Backend, ws ...store.Write) store.Result {
	t.Helper()
	res, err := b.ApplyBatch(context.Background(), ws)
	require.NoError(t, err)
	return res
}

// changedIDs lists the ids of res.Changes.
func changedIDs(res store.Result) []string {
	out := []string{}
	for _, c := range res.Changes {
		out = append(out, c.ID)
	}
	return out
}

// row returns the stored row of id (tombstones included).
func row(t testing.TB, b store.Backend, id string) (store.Item, bool) {
	t.Helper()
	for _, it := range All(t, b) {
		if it.ID == id {
			return it, true
		}
	}
	return store.Item{}, false
}

func requirePayload(t testing.TB, b store.Backend, id string, version uint64, payload string) {
	t.Helper()
	it, err := b.Get(context.Background(), id)
	require.NoError(t, err, "get %q", id)
	require.Equal(t, version, it.Version, "version of %q", id)
	require.Equal(t, payload, string(it.Payload), "payload of %q", id)
}

func requireAbsent(t testing.TB, b store.Backend, id string) {
	t.Helper()
	_, err := b.Get(context.Background(), id)
	require.ErrorIs(t, err, store.ErrNotFound, "get %q", id)
}

func defaultConfig() store.Config { return store.Config{Tree: merkle.DefaultConfig} }
