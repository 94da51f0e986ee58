package cuckoo

import (
	"encoding/binary"
	"slices"

	"github.com/bits-and-blooms/bloom/v3"
)

const (
	// MaxStash is the number of overflowed fingerprints kept exactly (and
	// deletable) before further ones go to the Bloom overflow.
	MaxStash = 64
	// bloomFPRate and bloomMinIDs size the Bloom overflow when it is first
	// needed: for max(bloomMinIDs, slots/16) ids at this false-positive
	// rate. Past that it saturates gracefully (more false positives, never
	// false negatives) until the filter is rebuilt.
	bloomFPRate = 1e-4
	bloomMinIDs = 1024
)

// overflow holds fingerprints the table could not place. An entry is a
// stash key: the smaller of the fingerprint's two buckets in bits 16..47
// and the fingerprint in bits 0..15. The key is all a lookup can know
// about an evicted fingerprint, whose id is gone, and it is the same from
// either bucket. Guarded by Filter.mu.
type overflow struct {
	slots uint64   // table slots; sizes the Bloom filter
	stash []uint64 // exact multiset of keys, at most MaxStash
	bloom *bloom.BloomFilter
}

func stashKey(i uint64, fp uint16, mask uint64) uint64 {
	return min(i, altIndex(i, fp, mask))<<16 | uint64(fp)
}

// holds reports whether any id is in the overflow.
func (o *overflow) holds() bool {
	return len(o.stash) > 0 || o.bloom != nil
}

func (o *overflow) add(key uint64) {
	if len(o.stash) < MaxStash {
		o.stash = append(o.stash, key)
		return
	}
	if o.bloom == nil {
		m, k := bloom.EstimateParameters(uint(max(bloomMinIDs, o.slots/16)), bloomFPRate)
		o.bloom = bloom.New((m+63)&^63, k) // whole words: see doc.go
	}
	o.bloom.Add(bloomKey(key))
}

func (o *overflow) contains(key uint64) bool {
	if slices.Contains(o.stash, key) {
		return true
	}
	return o.bloom != nil && o.bloom.Test(bloomKey(key))
}

// removeStashed removes one copy of key from the stash.
func (o *overflow) removeStashed(key uint64) bool {
	j := slices.Index(o.stash, key)
	if j < 0 {
		return false
	}
	o.stash = slices.Delete(o.stash, j, j+1)
	return true
}

// bloomKey is the Bloom filter input for a stash key: 8 bytes little-endian.
func bloomKey(key uint64) []byte {
	return binary.LittleEndian.AppendUint64(make([]byte, 0, 8), key)
}
