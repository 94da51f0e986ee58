package cuckoo

import (
	"encoding/binary"
	"math/bits"
)

// XXH64 primes (Yann Collet's xxHash, 64-bit variant).
const (
	prime1 uint64 = 0x9E3779B185EBCA87
	prime2 uint64 = 0xC2B2AE3D27D4EB4F
	prime3 uint64 = 0x165667B19E3779F9
	prime4 uint64 = 0x85EBCA77C2B2AE63
	prime5 uint64 = 0x27D4EB2F165667C5
)

// altMul spreads a 16-bit fingerprint over the bucket index space
// (Fibonacci hashing: 2^64 divided by the golden ratio).
const altMul uint64 = 0x9E3779B97F4A7C15

// xxh64 is XXH64 with seed 0. It is written out here, rather than imported,
// because every process must place an id in the same buckets with the same
// fingerprint: the snapshot format (doc.go) fixes this exact function.
func xxh64(b []byte) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		p1, p2 := prime1, prime2 // variables: the sums wrap, constants cannot
		v1 := p1 + p2
		v2 := p2
		v3 := uint64(0)
		v4 := -p1
		for len(b) >= 32 {
			v1 = xxRound(v1, binary.LittleEndian.Uint64(b[0:8]))
			v2 = xxRound(v2, binary.LittleEndian.Uint64(b[8:16]))
			v3 = xxRound(v3, binary.LittleEndian.Uint64(b[16:24]))
			v4 = xxRound(v4, binary.LittleEndian.Uint64(b[24:32]))
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) +
			bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = prime5
	}
	h += uint64(n)
	for ; len(b) >= 8; b = b[8:] {
		h ^= xxRound(0, binary.LittleEndian.Uint64(b))
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b)) * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
		b = b[4:]
	}
	for _, c := range b {
		h ^= uint64(c) * prime5
		h = bits.RotateLeft64(h, 11) * prime1
	}
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}

func xxRound(acc, input uint64) uint64 {
	acc += input * prime2
	acc = bits.RotateLeft64(acc, 31)
	return acc * prime1
}

func xxMerge(acc, v uint64) uint64 {
	acc ^= xxRound(0, v)
	return acc*prime1 + prime4
}

// fingerprintOf returns the id's fingerprint (the hash's top 16 bits, 0
// mapped to 1 because 0 marks an empty slot) and its primary bucket (the
// hash's low bits).
func fingerprintOf(id []byte, mask uint64) (i1 uint64, fp uint16) {
	h := xxh64(id)
	fp = uint16(h >> 48)
	if fp == 0 {
		fp = 1
	}
	return h & mask, fp
}

// altIndex is the partial-key cuckoo alternate: it depends only on the
// bucket and the fingerprint, so a fingerprint can move without its id, and
// altIndex(altIndex(i, fp), fp) == i. The offset is odd, so the two buckets
// always differ (there are at least two).
func altIndex(i uint64, fp uint16, mask uint64) uint64 {
	off := (uint64(fp)*altMul)>>32 | 1
	return (i ^ off) & mask
}
