package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// randomWrites makes n writes over a small id space (so that ids collide)
// with hierarchical ids, random versions (some 0: take the seq), duplicates
// and deletes.
func randomWrites(r *rand.Rand, prefix string, n int, seq *uint64) []store.Write {
	tops := []string{"t", "u", "t_", "t%"}
	mids := []string{"x", "y", "x.z", "xx"}
	out := make([]store.Write, 0, n)
	for range n {
		*seq++
		id := prefix + tops[r.IntN(len(tops))]
		if r.IntN(3) > 0 {
			id += "." + mids[r.IntN(len(mids))]
		}
		if r.IntN(2) == 0 {
			id += fmt.Sprintf(".%d", r.IntN(6))
		}
		v := uint64(r.IntN(5))
		var w store.Write
		if r.IntN(5) == 0 {
			w = del(*seq, id, v)
		} else {
			w = put(*seq, id, v, fmt.Sprintf("p%d", r.IntN(4)))
		}
		if v == 0 {
			w.Version = 0
		}
		out = append(out, w)
	}
	return out
}

// winners is the reference LWW: the winning stamp and write per id.
func winners(ws []store.Write) map[string]store.Write {
	out := map[string]store.Write{}
	for _, w := range ws {
		cur, ok := out[w.ID]
		if !ok || store.Wins(store.StampOf(w), store.StampOf(cur)) {
			out[w.ID] = w
		}
	}
	return out
}

// requireTable checks that the rows of b under prefix are exactly want.
func requireTable(t T, b store.Backend, prefix string, want map[string]store.Write) {
	t.Helper()
	got := map[string]store.Item{}
	for _, it := range rowsUnder(t, b, prefix) {
		got[it.ID] = it
	}
	require.Len(t, got, len(want))
	for id, w := range want {
		it, ok := got[id]
		require.True(t, ok, "row %q missing", id)
		require.Equal(t, w.EffectiveVersion(), it.Version, "version of %q", id)
		require.Equal(t, w.Op == store.OpDelete, it.Deleted, "deleted of %q", id)
		if w.Op == store.OpPut {
			require.Equal(t, string(w.Payload), string(it.Payload), "payload of %q", id)
		}
		if w.Version != 0 && it.Seq != w.Seq {
			// Equal writes are no-ops: the row keeps the seq of whichever
			// equal write came first.
			require.Equal(t, store.StampOf(w), stampOfItem(it), "stamp of %q", id)
		}
	}
}

func stampOfItem(it store.Item) store.Stamp {
	if it.Deleted {
		return store.Stamp{Version: it.Version, Deleted: true, PayloadSum: store.EmptySum}
	}
	return store.Stamp{Version: it.Version, PayloadSum: sha256.Sum256(it.Payload)}
}

func testTreeMatchesRebuild(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	r := rand.New(rand.NewPCG(1, 2))
	var seq uint64
	var all []store.Write
	for range 8 {
		ws := randomWrites(r, "", 60, &seq)
		all = append(all, ws...)
		res := apply(t, b, ws...)
		root, err := b.Root(context.Background())
		require.NoError(t, err)
		require.Equal(t, root, res.Root, "the batch's root is the committed root")
	}
	requireTable(t, b, "", winners(all))
	RequireConsistent(t, b, defaultConfig().Tree)
}

func testTreeConfigs(t *testing.T, open Open) {
	for _, cfg := range []merkle.Config{{Fanout: 16, Levels: 0}, {Fanout: 256, Levels: 1}, {Fanout: 16, Levels: 3}} {
		t.Run(cfg.String(), func(t *testing.T) {
			t.Parallel()
			b := open(t, store.Config{Tree: cfg})
			r := rand.New(rand.NewPCG(3, 4))
			var seq uint64
			for range 4 {
				apply(t, b, randomWrites(r, "", 50, &seq)...)
			}
			RequireConsistent(t, b, cfg)
		})
	}
}

// testConcurrent applies overlapping batches from 3 goroutines.
func testConcurrent(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	const workers, batches = 3, 12
	var seq uint64
	r := rand.New(rand.NewPCG(5, 6))
	plans := make([][][]store.Write, workers)
	var all []store.Write
	for w := range workers {
		for range batches {
			ws := randomWrites(r, "", 40, &seq)
			plans[w] = append(plans[w], ws)
			all = append(all, ws...)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ws := range plans[w] {
				if _, err := b.ApplyBatch(context.Background(), ws); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	requireTable(t, b, "", winners(all))
	RequireConsistent(t, b, defaultConfig().Tree)
}
