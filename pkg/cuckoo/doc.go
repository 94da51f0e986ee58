// Package cuckoo is Syncline's set-membership filter over live item ids:
// a cuckoo filter, its snapshot encoding, and the trust state that says
// when a reader may believe a negative answer.
//
// The reconciler builds a Filter from SQL (Rebuild), keeps it current from
// the commit feed (Insert on an id becoming live, Delete on it being
// deleted), and publishes snapshots (MarshalBinary) to the object store
// SYNC_FILTERS. Readers load a snapshot (Decode), replay the commit feed
// from the snapshot's sequence (Trust.Apply) and, while trusted, answer
// "definitely absent" without touching storage.
//
// # Guarantees
//
// No false negatives: Lookup returns true for every id inserted and not
// deleted, also when the table is full. When an insert cannot place a
// fingerprint within MaxKicks evictions, the fingerprint left in hand goes
// to an overflow: an exact stash of up to MaxStash entries, then a Bloom
// filter (bits-and-blooms/bloom/v3). Insert then returns ErrOverflow,
// NeedsRebuild reports true, and the owner should rebuild a bigger filter
// from the ground truth with Grow. Stashed fingerprints move back into the
// table as deletes make room. A Bloom filter cannot delete, so deleting an
// id whose copy went to it leaves it testing present: a false positive,
// never a false negative, gone at the next rebuild.
//
// Concurrency: every method of Filter and Trust is safe for concurrent
// use. Lookup is lock-free unless a writer is moving fingerprints at that
// moment or the filter has overflowed (see Filter).
//
// The caller keeps the multiset discipline: insert an id when it becomes
// live (not on every update of a live id), and delete it only when a live
// id is deleted. Deleting an id that is not in the filter may remove
// another id's matching fingerprint and cause a false negative.
//
// False positives: an absent id tests present with probability about
// 2·4·load/2^16 (at most ~1.2e-4 at 95 % load).
//
// # Hashing
//
// Every process must derive the same buckets and fingerprint from an id,
// so the hash is fixed: h = XXH64(id, seed 0). The fingerprint is
// fp = h >> 48, with 0 replaced by 1 (0 marks an empty slot). With
// 2^L buckets and mask = 2^L - 1, the primary bucket is i1 = h & mask and
// the alternate is i2 = i1 XOR (((fp · 0x9E3779B97F4A7C15 mod 2^64) >> 32)
// OR 1) & mask, which is its own inverse.
//
// # Snapshot format, version 1
//
// All integers are little-endian. Offsets are in bytes.
//
//	off   size  field
//	0     4     magic "SLCF" (0x53 0x4C 0x43 0x46)
//	4     1     format version, 1
//	5     1     hash algorithm, 1 = as described under Hashing
//	6     1     fingerprint bits, 16
//	7     1     slots per bucket, 4
//	8     1     L, log2 of the bucket count, 1..32
//	9     1     flags: bit 0 = a Bloom overflow section follows; others 0
//	10    2     S, stash entries, 0..64
//	12    4     reserved, 0
//	16    8     count: ids held (table + stash + Bloom overflow)
//	24    8·2^L buckets; bucket i is one uint64 holding slot j in bits
//	            16j..16j+15; a zero slot is empty
//	...   8·S   stash entries, uint64 each: the smaller of the fingerprint's
//	            two buckets in bits 16..47, the fingerprint in bits 0..15,
//	            bits 48..63 zero; a multiset, order not significant
//	if flags bit 0:
//	...   8     m, Bloom filter bits, a non-zero multiple of 64
//	...   4     k, hash functions, 1..64
//	...   4     reserved, 0
//	...   m/8   the bit array as m/64 uint64 words, bit b of the filter in
//	            word b/64, bit b%64; keys added are stash entries encoded
//	            as 8 bytes little-endian, hashed as bits-and-blooms/bloom/v3
//	            does (murmur3-128 based, location(h, i) mod m)
//	end-4 4     CRC-32C (Castagnoli) of every preceding byte
//
// A decoder checks, in order: the length covers header and trailer, the
// magic (else ErrCorrupt), the version (else ErrUnsupported), the checksum
// (ErrCorrupt), the parameters (ErrUnsupported), then sizes against the
// input length before allocating anything, the stash entries' form, that
// nothing trails, and that count is consistent with the occupied slots and
// stash (equal to their sum unless a Bloom overflow is present). Encoding
// a decoded snapshot reproduces it byte for byte.
//
// The snapshot carries no merkle root or commit-feed sequence: those travel
// as object metadata (DESIGN.md section 2) and feed Trust.Set.
package cuckoo
