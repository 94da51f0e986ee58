package cuckoo_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/cuckoo"
)

// filled returns a filter of New(capacity) holding n ids, and the ids.
func filled(t testing.TB, capacity uint, n int) (*cuckoo.Filter, [][]byte) {
	t.Helper()
	f := cuckoo.New(capacity)
	in := ids("snap", n)
	for _, id := range in {
		if err := f.Insert(id); err != nil {
			require.ErrorIs(t, err, cuckoo.ErrOverflow)
		}
	}
	return f, in
}

// reseal returns a copy of b with its trailing checksum recomputed, so that
// tests reach the checks behind it. Shorter inputs are returned as is.
func reseal(b []byte) []byte {
	b = append([]byte(nil), b...)
	if len(b) < 4 {
		return b
	}
	body := b[:len(b)-4]
	binary.LittleEndian.PutUint32(b[len(body):], crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		capacity uint
		n        int
	}{
		{"empty", 10, 0},
		{"half", 1000, 500},
		{"stash", 100, 110},  // a few fingerprints stashed
		{"bloom", 100, 2000}, // stash full, Bloom overflow in use
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, in := filled(t, tc.capacity, tc.n)
			b, err := f.MarshalBinary()
			require.NoError(t, err)
			g, err := cuckoo.Decode(b)
			require.NoError(t, err)
			require.Equal(t, f.Count(), g.Count())
			require.Equal(t, f.Capacity(), g.Capacity())
			require.Equal(t, f.LoadFactor(), g.LoadFactor())
			require.Equal(t, f.NeedsRebuild(), g.NeedsRebuild())
			for _, id := range in {
				require.True(t, g.Lookup(id), "%s", id)
			}
			for _, id := range ids("absent", 2000) {
				require.Equal(t, f.Lookup(id), g.Lookup(id), "%s", id)
			}
			again, err := g.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, b, again)

			var h cuckoo.Filter
			require.NoError(t, h.UnmarshalBinary(b))
			require.Equal(t, f.Count(), h.Count())
			prefix := []byte("prefix")
			appended, err := h.AppendBinary(prefix)
			require.NoError(t, err)
			require.Equal(t, b, appended[len(prefix):])
		})
	}
}

// TestSnapshotGolden pins the format and the hash: a change to either
// breaks snapshots shared between processes and versions.
func TestSnapshotGolden(t *testing.T) {
	t.Parallel()
	f, _ := filled(t, 20, 12)
	b, err := f.MarshalBinary()
	require.NoError(t, err)
	require.Len(t, b, 24+8*8+4)
	require.Equal(t, "SLCF\x01\x01\x10\x04\x03\x00\x00\x00\x00\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00", string(b[:24]))
	require.Equal(t, goldenCRC, fmt.Sprintf("%08x", binary.LittleEndian.Uint32(b[len(b)-4:])))
}

const goldenCRC = "db929770"

func TestDecodeRejectsFlippedBytes(t *testing.T) {
	t.Parallel()
	f, _ := filled(t, 100, 110) // with stash entries
	b, err := f.MarshalBinary()
	require.NoError(t, err)
	for i := range b {
		for _, mask := range []byte{0x01, 0x80, 0xFF} {
			c := append([]byte(nil), b...)
			c[i] ^= mask
			_, err := cuckoo.Decode(c)
			require.Error(t, err, "byte %d ^ %#x accepted", i, mask)
		}
	}
}

func TestDecodeRejectsTruncated(t *testing.T) {
	t.Parallel()
	f, _ := filled(t, 100, 2000) // with Bloom overflow
	b, err := f.MarshalBinary()
	require.NoError(t, err)
	for n := range len(b) {
		_, err := cuckoo.Decode(b[:n])
		require.ErrorIs(t, err, cuckoo.ErrCorrupt, "truncated to %d", n)
		_, err = cuckoo.Decode(reseal(b[:n]))
		require.Error(t, err, "truncated to %d and resealed", n)
	}
	_, err = cuckoo.Decode(append(b, 0))
	require.ErrorIs(t, err, cuckoo.ErrCorrupt)
}

func TestDecodeRejectsWrongVersion(t *testing.T) {
	t.Parallel()
	f, _ := filled(t, 10, 5)
	b, err := f.MarshalBinary()
	require.NoError(t, err)
	for _, v := range []byte{0, 2, 255} {
		c := append([]byte(nil), b...)
		c[4] = v
		_, err := cuckoo.Decode(reseal(c))
		require.ErrorIs(t, err, cuckoo.ErrUnsupported)
	}
	c := append([]byte(nil), b...)
	c[6] = 8 // 8-bit fingerprints
	_, err = cuckoo.Decode(reseal(c))
	require.ErrorIs(t, err, cuckoo.ErrUnsupported)
}

func TestDecodeRejectsInconsistentFields(t *testing.T) {
	t.Parallel()
	f, _ := filled(t, 10, 5)
	b, err := f.MarshalBinary()
	require.NoError(t, err)
	for name, edit := range map[string]func(c []byte){
		"zero buckets":   func(c []byte) { c[8] = 0 },
		"2^40 buckets":   func(c []byte) { c[8] = 40 },
		"2^32 buckets":   func(c []byte) { c[8] = 32 }, // length check, no 32 GiB allocation
		"unknown flag":   func(c []byte) { c[9] = 2 },
		"bloom flag":     func(c []byte) { c[9] = 1 },
		"stash too big":  func(c []byte) { c[10] = 65 },
		"stash missing":  func(c []byte) { c[10] = 1 },
		"reserved":       func(c []byte) { c[13] = 1 },
		"count too low":  func(c []byte) { c[16] = 4 },
		"count too high": func(c []byte) { c[16] = 6 },
	} {
		c := append([]byte(nil), b...)
		edit(c)
		_, err := cuckoo.Decode(reseal(c))
		require.ErrorIs(t, err, cuckoo.ErrCorrupt, name)
	}
	_, err = cuckoo.Decode([]byte("NOPE\x01"))
	require.ErrorIs(t, err, cuckoo.ErrCorrupt)
}
