package cuckoo_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/cuckoo"
)

func TestTrust(t *testing.T) {
	t.Parallel()
	var tr cuckoo.Trust
	require.False(t, tr.Trusted(), "zero Trust is untrusted")
	applied := 0
	apply := func() { applied++ }
	require.False(t, tr.Apply(1, [32]byte{1}, apply), "untrusted ignores the feed")
	require.Zero(t, applied)

	tr.Set([32]byte{7}, 10)
	require.Equal(t, cuckoo.TrustState{Trusted: true, Root: [32]byte{7}, Seq: 10}, tr.Load())
	require.True(t, tr.Apply(9, [32]byte{9}, apply), "redelivery")
	require.True(t, tr.Apply(10, [32]byte{9}, apply), "redelivery")
	require.Zero(t, applied)
	require.True(t, tr.Apply(11, [32]byte{11}, apply))
	require.True(t, tr.Apply(12, [32]byte{12}, nil))
	require.Equal(t, 1, applied)
	require.Equal(t, cuckoo.TrustState{Trusted: true, Root: [32]byte{12}, Seq: 12}, tr.Load())

	require.False(t, tr.Apply(14, [32]byte{14}, apply), "gap revokes")
	require.Equal(t, 1, applied)
	require.Equal(t, cuckoo.TrustState{}, tr.Load())
	require.False(t, tr.Apply(13, [32]byte{13}, apply), "no trust after a gap")

	tr.Set([32]byte{20}, 20)
	require.True(t, tr.Trusted())
	tr.Revoke()
	require.False(t, tr.Trusted())
}

func TestTrustConcurrentApply(t *testing.T) {
	t.Parallel()
	var tr cuckoo.Trust
	tr.Set([32]byte{}, 0)
	var wg sync.WaitGroup
	applied := 0 // guarded by the Trust: apply runs under its lock
	for range 4 {
		wg.Go(func() {
			for seq := uint64(1); seq <= 1000; seq++ {
				for tr.Load().Seq < seq-1 {
				}
				tr.Apply(seq, [32]byte{byte(seq)}, func() { applied++ })
				_ = tr.Trusted()
			}
		})
	}
	wg.Wait()
	require.True(t, tr.Trusted())
	require.Equal(t, uint64(1000), tr.Load().Seq)
	require.Equal(t, 1000, applied, "each record applied exactly once")
}
