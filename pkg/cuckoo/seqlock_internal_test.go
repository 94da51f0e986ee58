package cuckoo

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLookupWhileStashDrains moves one id's fingerprint between its bucket
// and the stash over and over, as overflow and drainStash do, while
// readers look up only that id: every window in which the fingerprint is
// in neither place must be covered by the seqlock. The windows are
// nanoseconds wide, so this stress test (with -race) catches gross errors,
// not every ordering mistake; the ordering argument is in Filter's doc and
// Lookup.
func TestLookupWhileStashDrains(t *testing.T) {
	t.Parallel()
	f := New(100)
	id := []byte("tenant.orders.4711")
	require.NoError(t, f.Insert(id))
	i1, fp := fingerprintOf(id, f.mask)
	i2 := altIndex(i1, fp, f.mask)

	var misses atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !f.Lookup(id) {
					misses.Add(1)
				}
			}
		})
	}
	for range 20000 {
		f.mu.Lock()
		// Evict the fingerprint to the stash, as a failed insert does.
		f.moveBegin()
		require.True(t, f.remove(i1, fp) || f.remove(i2, fp))
		f.ovf.add(stashKey(i1, fp, f.mask))
		f.overflowed.Store(true)
		f.moveEnd()
		f.mu.Unlock()

		f.mu.Lock()
		f.drainStash() // back into the table
		require.False(t, f.ovf.holds())
		f.mu.Unlock()
	}
	close(stop)
	wg.Wait()
	require.Zero(t, misses.Load(), "false negatives while the fingerprint moved")
}
