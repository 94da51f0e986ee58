package readpath_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/engine/readpath"
	"github.com/syncline/syncline/pkg/item"
)

// row is what SQL holds for an id, as the commits reported it.
type row struct {
	version uint64
	payload string
	deleted bool
}

// TestPropertyReads drives random writes, deletes, snapshots, feed gaps,
// lagging Redis and reader restarts through a real store and commit feed,
// and checks after each step that the reader
//
//   - never reports a live id absent (get or exists), whatever tier or
//     filter state answers;
//   - answers a read with minSeq (every write so far) exactly;
//   - serves from L1 only the current version, once its follower has
//     applied the feed;
//   - otherwise serves at most a stale Redis copy (never newer than SQL,
//     never a never-written id), and, once Redis has caught up, exactly
//     what SQL holds.
//
// One pipeline serves the whole run; each check uses its own ids.
func TestPropertyReads(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			propertyReads(t, b)
		})
	}
}

func propertyReads(t *testing.T, backend string) {
	e := newEnv(t, envOpts{backend: backend})
	cfg := testConfig()
	cfg.L1MaxBytes = 32 << 10 // 2 KiB a shard: evictions happen
	cfg.Watermarks = 32       // 2 a shard: watermarks are forgotten
	cfg.RedisGrace = 50 * time.Millisecond
	cfg.FilterReloadStale = 0.05
	var r *readpath.Reader
	start := func() { r, _ = e.reader(t, readerOpts{cfg: &cfg}) }
	start()
	var iteration atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		ns := fmt.Sprintf("i%d", iteration.Add(1))
		ids := []string{ns + ".a", ns + ".b", ns + ".c.d", ns + ".c.e"}
		never := ns + ".never"
		rows := map[string]row{}

		write := func(rt *rapid.T, deleteOp bool) {
			id := rapid.SampledFrom(ids).Draw(rt, "id")
			var version uint64
			if rapid.Bool().Draw(rt, "explicit") {
				version = rapid.Uint64Range(1, 40).Draw(rt, "version")
			}
			w := put(id, version, fmt.Sprintf("p%d", rapid.IntRange(0, 3).Draw(rt, "payload")))
			if deleteOp {
				w = del(id, version)
			}
			_, res := e.commit(t, w)
			for _, c := range res.Changes {
				rows[c.ID] = row{version: c.Version, payload: string(w.Payload), deleted: c.Deleted}
			}
			if rapid.Bool().Draw(rt, "redis fast path") {
				e.toRedis(t, res)
			}
		}
		check := func(rt *rapid.T, redisCaughtUp bool) {
			caughtUp(t, r, e.feedLast(t))
			if redisCaughtUp {
				checkFor(t, 10*time.Second, 2*time.Millisecond, func() error {
					if !r.FillsIdle() {
						return errors.New("fills pending")
					}
					return nil
				})
				for _, id := range ids {
					e.redisSet(t, id)
				}
			}
			n := e.walSeq.Load()
			for _, id := range append(ids, never) {
				want, written := rows[id]
				live := written && !want.deleted
				ok, err := r.Exists(ctx(rt), id)
				require.NoError(rt, err)
				if live || redisCaughtUp {
					require.Equal(rt, live, ok, "exists %s", id)
				}
				it, err := r.Get(ctx(rt), id, n)
				if live {
					require.NoError(rt, err, "get %s minSeq %d", id, n)
					require.Equal(rt, want.version, it.Version, "get %s minSeq %d", id, n)
					require.Equal(rt, want.payload, string(it.Payload), "get %s minSeq %d", id, n)
				} else {
					require.ErrorIs(rt, err, item.ErrNotFound, "get %s minSeq %d", id, n)
				}
				it, err = r.Get(ctx(rt), id, 0)
				switch {
				case !written:
					require.ErrorIs(rt, err, item.ErrNotFound, "get %s", id)
				case live && (redisCaughtUp || it.Source == "l1" || it.Source == "l3"):
					require.NoError(rt, err, "get %s", id)
					require.Equal(rt, want.version, it.Version, "get %s from %s", id, it.Source)
					require.Equal(rt, want.payload, string(it.Payload), "get %s from %s", id, it.Source)
				case live:
					require.NoError(rt, err, "get %s: a live id reported absent", id)
					require.LessOrEqual(rt, it.Version, want.version, "get %s from %s", id, it.Source)
				case redisCaughtUp:
					require.ErrorIs(rt, err, item.ErrNotFound, "get %s", id)
				case err == nil: // deleted; only a Redis copy not yet removed
					require.Equal(rt, "l2", it.Source, "get %s: deleted id served", id)
					require.LessOrEqual(rt, it.Version, want.version, "get %s", id)
				default:
					require.ErrorIs(rt, err, item.ErrNotFound, "get %s", id)
				}
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"put":      func(rt *rapid.T) { write(rt, false) },
			"delete":   func(rt *rapid.T) { write(rt, true) },
			"snapshot": func(*rapid.T) { e.snapshot(t) },
			"gap":      func(*rapid.T) { e.publishJunk(t) },
			"restart": func(*rapid.T) {
				c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(t, r.Stop(c))
				start()
			},
			"check": func(rt *rapid.T) { check(rt, true) },
			"":      func(rt *rapid.T) { check(rt, false) }, // after every step
		})
	})
}

func ctx(rt *rapid.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	rt.Cleanup(cancel)
	return c
}
