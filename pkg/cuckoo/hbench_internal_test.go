package cuckoo

import "testing"

// BenchmarkXXH64 hashes a 27-byte id, the length BenchmarkLookup uses.
func BenchmarkXXH64(b *testing.B) {
	k := []byte("tenant-0042.orders.\x00\x00\x00\x00\x00\x00\x00\x01")
	var s uint64
	for b.Loop() {
		s += xxh64(k)
	}
	_ = s
}
