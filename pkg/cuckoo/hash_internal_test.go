package cuckoo

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Reference values from the xxHash specification's implementation
// (cespare/xxhash Sum64), covering the <4, <8, <32 and >=32 byte paths.
func TestXXH64Vectors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]uint64{
		"":                                     0xef46db3751d8e999,
		"a":                                    0xd24ec4f1a98c6e5b,
		"abc":                                  0x44bc2cf5ad770999,
		"tenant.orders.4711":                   0x3f1527b6eba9b3cd,
		"0123456789abcdef0123456789abcdef0123": 0xc4255ba3d1af5461,
	} {
		require.Equal(t, want, xxh64([]byte(in)), "%q", in)
	}
}

func TestAltIndexIsInvolution(t *testing.T) {
	t.Parallel()
	for _, mask := range []uint64{1, 3, 1<<10 - 1, 1<<32 - 1} {
		for fp := 1; fp < 1<<16; fp += 7 {
			i := uint64(fp*2654435761) & mask
			j := altIndex(i, uint16(fp), mask)
			require.NotEqual(t, i, j)
			require.Equal(t, i, altIndex(j, uint16(fp), mask))
			require.Equal(t, stashKey(i, uint16(fp), mask), stashKey(j, uint16(fp), mask))
		}
	}
}

func TestHasFingerprint(t *testing.T) {
	t.Parallel()
	w := uint64(0x0001_8000_0000_FFFF)
	for fp, want := range map[uint16]bool{1: true, 0x8000: true, 0xFFFF: true, 2: false, 0x7FFF: false, 0xFFFE: false} {
		require.Equal(t, want, hasFingerprint(w, fp), "%#x", fp)
	}
	for shift := 0; shift < 64; shift += 16 {
		for _, fp := range []uint16{1, 0x00FF, 0x0100, 0x8000, 0xFFFF} {
			require.True(t, hasFingerprint(uint64(fp)<<shift, fp))
			require.False(t, hasFingerprint(uint64(fp)<<shift, fp^2))
		}
	}
}
