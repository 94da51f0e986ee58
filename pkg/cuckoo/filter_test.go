package cuckoo_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/cuckoo"
)

func ids(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s.%d", prefix, i)
	}
	return out
}

func TestNewSizing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		capacity uint
		slots    uint64
	}{
		{0, 8}, {1, 8}, {7, 8}, {8, 16}, {100, 128}, {3891, 4096}, {3892, 8192},
	} {
		f := cuckoo.New(tc.capacity)
		require.Equal(t, tc.slots, f.Capacity(), "capacity %d", tc.capacity)
		require.GreaterOrEqual(t, float64(f.Capacity())*0.95, float64(tc.capacity))
	}
}

func TestInsertLookupDelete(t *testing.T) {
	t.Parallel()
	f := cuckoo.New(1000)
	in := ids("tenant.orders", 500)
	for _, id := range in {
		require.NoError(t, f.Insert(id))
	}
	require.Equal(t, uint64(500), f.Count())
	require.InDelta(t, 500.0/float64(f.Capacity()), f.LoadFactor(), 1e-12)
	for _, id := range in {
		require.True(t, f.Lookup(id), "%s", id)
	}
	for _, id := range in[:250] {
		require.True(t, f.Delete(id), "%s", id)
	}
	require.Equal(t, uint64(250), f.Count())
	for _, id := range in[250:] {
		require.True(t, f.Lookup(id), "%s", id)
	}
	fp := 0
	for _, id := range in[:250] {
		if f.Lookup(id) {
			fp++
		}
	}
	require.Less(t, fp, 3, "deleted ids still present")
	require.False(t, f.NeedsRebuild())
}

func TestMultiset(t *testing.T) {
	t.Parallel()
	f := cuckoo.New(16)
	id := []byte("a.b")
	require.NoError(t, f.Insert(id))
	require.NoError(t, f.Insert(id))
	require.Equal(t, uint64(2), f.Count())
	require.True(t, f.Delete(id))
	require.True(t, f.Lookup(id), "one copy left")
	require.True(t, f.Delete(id))
	require.False(t, f.Lookup(id))
	require.False(t, f.Delete(id))
	require.Equal(t, uint64(0), f.Count())
}

func TestFalsePositiveRate(t *testing.T) {
	t.Parallel()
	f := cuckoo.New(1 << 16) // 2^15 buckets, 2^17 slots
	for _, id := range ids("in", int(f.Capacity()*95/100)) {
		require.NoError(t, f.Insert(id))
	}
	const probes = 1 << 18
	pos := 0
	for _, id := range ids("out", probes) {
		if f.Lookup(id) {
			pos++
		}
	}
	// Expected 8·0.95/65535 ≈ 1.16e-4, about 30 of 2^18; 66 or more is
	// a (Poisson) one-in-a-billion event.
	require.Less(t, pos, 66)
}

func TestFullFilterNeverLosesAnID(t *testing.T) {
	t.Parallel()
	f := cuckoo.New(100) // 128 slots
	in := ids("user", 20*int(f.Capacity()))
	overflows := 0
	for _, id := range in {
		err := f.Insert(id)
		if err != nil {
			require.ErrorIs(t, err, cuckoo.ErrOverflow)
			overflows++
		}
	}
	require.Positive(t, overflows)
	require.True(t, f.NeedsRebuild())
	require.Equal(t, uint64(len(in)), f.Count())
	require.InDelta(t, 1.0, f.LoadFactor(), 0.05)
	for _, id := range in {
		require.True(t, f.Lookup(id), "false negative for %s", id)
	}
	// Deleting half (some copies sit in the Bloom overflow and stay)
	// never hides the other half.
	for _, id := range in[:len(in)/2] {
		f.Delete(id)
	}
	for _, id := range in[len(in)/2:] {
		require.True(t, f.Lookup(id), "false negative for %s", id)
	}
}

func TestStashDrainsOnDelete(t *testing.T) {
	t.Parallel()
	f := cuckoo.New(100)
	var in [][]byte
	for i := 0; !f.NeedsRebuild(); i++ {
		id := fmt.Appendf(nil, "s.%d", i)
		in = append(in, id)
		err := f.Insert(id)
		if err != nil {
			require.ErrorIs(t, err, cuckoo.ErrOverflow)
		}
	}
	// One fingerprint is stashed; deleting everything empties the stash
	// again (the stash is exact, unlike the Bloom overflow).
	for _, id := range in {
		require.True(t, f.Delete(id), "%s", id)
	}
	require.False(t, f.NeedsRebuild())
	require.Equal(t, uint64(0), f.Count())
	require.Zero(t, f.LoadFactor())
}

func TestGrow(t *testing.T) {
	t.Parallel()
	f := cuckoo.New(100)
	in := ids("g", 400)
	for _, id := range in {
		if err := f.Insert(id); err != nil {
			require.ErrorIs(t, err, cuckoo.ErrOverflow)
		}
	}
	require.True(t, f.NeedsRebuild())
	g, err := f.Grow(cuckoo.FromSlice(in))
	require.NoError(t, err)
	require.GreaterOrEqual(t, g.Capacity(), 2*f.Capacity())
	require.False(t, g.NeedsRebuild())
	require.Equal(t, uint64(len(in)), g.Count())
	for _, id := range in {
		require.True(t, g.Lookup(id))
	}

	boom := errors.New("sql: connection reset")
	_, err = cuckoo.Rebuild(10, func(yield func([]byte, error) bool) {
		if yield([]byte("x"), nil) {
			yield(nil, boom)
		}
	})
	require.ErrorIs(t, err, boom)
}

// TestConcurrentLookupDuringKicks checks the optimistic lock-free read
// path: ids already present must be found while a writer keeps evicting
// their fingerprints between buckets. The table runs at 90-99 % load, where
// inserts walk long eviction chains.
func TestConcurrentLookupDuringKicks(t *testing.T) {
	t.Parallel()
	f := cuckoo.New(1000)
	stable := ids("stable", int(f.Capacity()*9/10))
	for _, id := range stable {
		require.NoError(t, f.Insert(id))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	misses := make(chan string, 1)
	for r := range 2 {
		wg.Go(func() {
			for n := r; ; n++ {
				if n%len(stable) == 0 {
					select {
					case <-stop:
						return
					default:
					}
				}
				if id := stable[n%len(stable)]; !f.Lookup(id) {
					select {
					case misses <- string(id):
					default:
					}
				}
			}
		})
	}
	// 1000 rounds take ~0.5 s; the race detector slows them 20-fold.
	deadline := time.Now().Add(2 * time.Second)
	for round := 0; round < 1000 && time.Now().Before(deadline); round++ {
		var churn [][]byte
		for i := 0; f.LoadFactor() < 0.99 && !f.NeedsRebuild(); i++ {
			id := fmt.Appendf(nil, "churn.%d.%d", round, i)
			_ = f.Insert(id) // ErrOverflow is fine: the id is kept
			churn = append(churn, id)
		}
		for _, id := range churn {
			f.Delete(id)
		}
	}
	close(stop)
	wg.Wait()
	close(misses)
	require.Empty(t, misses, "false negative under concurrent writes")
}
