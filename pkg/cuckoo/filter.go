package cuckoo

import (
	"errors"
	"math/bits"
	"sync"
	"sync/atomic"
)

// Filter parameters. They are part of the snapshot format (doc.go).
const (
	// FingerprintBits is the width of a stored fingerprint.
	FingerprintBits = 16
	// BucketSlots is the number of fingerprints per bucket.
	BucketSlots = 4
	// MaxKicks bounds the evictions one Insert tries before it moves the
	// fingerprint left in hand to the overflow.
	MaxKicks = 500
	// MaxBucketsLog2 bounds the table at 2^32 buckets (32 GiB).
	MaxBucketsLog2 = 32
	// targetLoad: New sizes the table so that capacity ids fill at most
	// 19/20 (95 %) of the slots; 4-slot buckets reach about 95-98 %.
	targetLoadNum, targetLoadDen = 19, 20
)

// ErrOverflow is returned by Insert when the table was too full to place
// every fingerprint within MaxKicks evictions. The id is still held (one
// evicted fingerprint went to the stash or the Bloom overflow), so Lookup
// never misses it; the filter should be rebuilt bigger (see NeedsRebuild,
// Grow).
var ErrOverflow = errors.New("cuckoo: table full, fingerprint kept in overflow")

// Filter is a cuckoo filter (Fan et al., "Cuckoo Filter: Practically Better
// Than Bloom", CoNEXT 2014) with 16-bit fingerprints, 4-slot buckets,
// partial-key cuckoo hashing and a power-of-two number of buckets.
//
// A Filter is safe for concurrent use. Lookup takes no lock in the common
// case: it reads the two buckets optimistically under a sequence counter
// (a seqlock) and looks again under the lock only if a writer moved
// fingerprints meanwhile, or if ids sit in the overflow (then NeedsRebuild
// is true, and such lookups serialise until the filter is rebuilt). Insert
// and Delete serialise on the lock. It is a plain Mutex: a RWMutex's
// reader count would double the cost of every write, for the sake of a
// path that only an overflowed filter takes.
//
// The seqlock rule: a writer makes seq odd before any fingerprint changes
// place (an eviction, or a return from the stash to the table) and even
// again once every fingerprint is back in the table or the overflow. Only
// adding a new fingerprint to a free slot and removing a deleted one skip
// it: a reader that races with those sees the id either present or absent,
// both linearizable.
//
// The zero Filter is not usable; create one with New, Rebuild or Decode.
type Filter struct {
	// mu serialises writers, and readers on the slow path.
	mu sync.Mutex
	// seq is odd while a writer moves fingerprints; readers that saw it
	// change discard what they read.
	seq atomic.Uint64
	// buckets holds 4 fingerprints per word, slot j in bits 16j..16j+15.
	// The slice header never changes after construction; words are read
	// and written atomically so that optimistic readers are race-free.
	buckets []atomic.Uint64
	mask    uint64 // len(buckets) - 1
	// overflowed is set while the stash or the Bloom overflow hold ids; a
	// reader that misses in the table must then consult them.
	overflowed atomic.Bool

	// Guarded by mu.
	count uint64 // ids held: table + stash + Bloom overflow
	table uint64 // fingerprints in buckets
	ovf   overflow
	rng   uint64 // xorshift state choosing eviction slots
	// moving is set while seq is odd.
	moving bool
}

// New returns an empty filter sized so that capacity ids fill at most 95 %
// of its slots. The bucket count is rounded up to a power of two (at least
// 2, at most 2^MaxBucketsLog2), so the table can be up to twice as large.
// Memory is 8 bytes per bucket: 2 bytes per slot.
func New(capacity uint) *Filter {
	if uint64(capacity) >= BucketSlots<<MaxBucketsLog2 {
		return newLog2(MaxBucketsLog2)
	}
	slots := (uint64(capacity)*targetLoadDen + targetLoadNum - 1) / targetLoadNum
	nb := (slots + BucketSlots - 1) / BucketSlots
	log2 := 1
	if nb > 2 {
		log2 = bits.Len64(nb - 1)
	}
	return newLog2(min(log2, MaxBucketsLog2))
}

func newLog2(log2 int) *Filter {
	n := uint64(1) << log2
	f := &Filter{
		buckets: make([]atomic.Uint64, n),
		mask:    n - 1,
		rng:     0x853C49E6748FEA9B,
	}
	f.ovf.slots = n * BucketSlots
	return f
}

// Lookup reports whether id may be in the filter. It never returns false
// for an id that was inserted and not deleted (no false negatives); it
// returns true for an absent id with probability about 8·load/2^16
// (below 1.2e-4), more once ids overflowed into the Bloom filter.
func (f *Filter) Lookup(id []byte) bool {
	i1, fp := fingerprintOf(id, f.mask)
	i2 := altIndex(i1, fp, f.mask)
	if s := f.seq.Load(); s&1 == 0 {
		w1, w2 := f.buckets[i1].Load(), f.buckets[i2].Load()
		overflowed := f.overflowed.Load() // inside the window: see drainStash
		if f.seq.Load() == s {
			if found := hasFingerprint2(w1, w2, fp); found || !overflowed {
				return found
			}
		}
	}
	return f.lookupLocked(i1, i2, fp)
}

// lookupLocked is Lookup's slow path, for when a writer was active or ids
// sit in the overflow: it looks again under the lock, where nothing moves.
func (f *Filter) lookupLocked(i1, i2 uint64, fp uint16) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return hasFingerprint(f.buckets[i1].Load(), fp) ||
		hasFingerprint(f.buckets[i2].Load(), fp) ||
		f.ovf.contains(stashKey(i1, fp, f.mask))
}

// Insert adds id. Ids form a multiset: inserting an id twice stores it
// twice, and it stays present until deleted twice. Insert returns nil, or
// ErrOverflow when the table is full; the id is held either way.
func (f *Filter) Insert(id []byte) error {
	i1, fp := fingerprintOf(id, f.mask)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.insertLocked(i1, fp)
}

func (f *Filter) insertLocked(i uint64, fp uint16) error {
	f.count++
	i, fp, ok := f.cuckoo(i, fp)
	if !ok {
		// The new id's fingerprint is in the table; the one in hand
		// belongs to an id already counted. Keep it rather than drop it.
		f.ovf.add(stashKey(i, fp, f.mask))
		f.overflowed.Store(true)
	}
	f.moveEnd()
	if !ok {
		return ErrOverflow
	}
	return nil
}

// cuckoo stores fp, which belongs in bucket i or its alternate, evicting
// fingerprints to their alternate buckets (a random walk) as needed. After
// MaxKicks evictions it gives up and returns the fingerprint left in hand
// and one of its buckets; the table then holds as many fingerprints as
// before, but not the same ones. Evictions start a move (moveBegin); the
// caller ends it once the fingerprint in hand is stored.
func (f *Filter) cuckoo(i uint64, fp uint16) (uint64, uint16, bool) {
	if f.place(i, fp) {
		return 0, 0, true
	}
	i = altIndex(i, fp, f.mask)
	if f.place(i, fp) {
		return 0, 0, true
	}
	f.moveBegin()
	for range MaxKicks {
		f.rng ^= f.rng << 13
		f.rng ^= f.rng >> 7
		f.rng ^= f.rng << 17
		shift := (f.rng & (BucketSlots - 1)) * FingerprintBits
		w := f.buckets[i].Load()
		victim := uint16(w >> shift)
		f.buckets[i].Store(w&^(0xFFFF<<shift) | uint64(fp)<<shift)
		fp = victim
		i = altIndex(i, fp, f.mask)
		if f.place(i, fp) {
			return 0, 0, true
		}
	}
	return i, fp, false
}

// Delete removes one copy of id and reports whether it found one in the
// table or the stash. Delete only ids that are in the filter: deleting an
// absent id may remove the fingerprint of a different id that shares it,
// which would then be missed (a false negative).
//
// A copy that overflowed into the Bloom filter cannot be removed (a Bloom
// filter has no deletion); Delete then returns false and the id keeps
// testing present. That only adds false positives, never false negatives,
// and the next rebuild drops it.
func (f *Filter) Delete(id []byte) bool {
	i1, fp := fingerprintOf(id, f.mask)
	i2 := altIndex(i1, fp, f.mask)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range [2]uint64{i1, i2} {
		if f.remove(i, fp) {
			f.count--
			f.drainStash()
			return true
		}
	}
	if f.ovf.removeStashed(stashKey(i1, fp, f.mask)) {
		f.count--
		f.overflowed.Store(f.ovf.holds())
		return true
	}
	return false
}

// drainStash tries to move one stashed fingerprint back into the table
// after a delete made room, evicting as an insert would; if that fails the
// fingerprint left in hand returns to the stash. Either way no id is lost,
// and the stash shrinks as the table empties. Above 95 % load it does not
// try: eviction walks there mostly fail after MaxKicks steps.
func (f *Filter) drainStash() {
	n := len(f.ovf.stash)
	if n == 0 || f.table*targetLoadDen >= f.Capacity()*targetLoadNum {
		return
	}
	f.moveBegin() // a fingerprint leaves the stash for the table
	key := f.ovf.stash[n-1]
	f.ovf.stash = f.ovf.stash[:n-1]
	if i, fp, ok := f.cuckoo(key>>16, uint16(key)); !ok {
		f.ovf.stash = append(f.ovf.stash, stashKey(i, fp, f.mask))
	}
	f.overflowed.Store(f.ovf.holds())
	f.moveEnd()
}

// moveBegin makes seq odd, if it is not already, before fingerprints move.
func (f *Filter) moveBegin() {
	if !f.moving {
		f.moving = true
		f.seq.Add(1)
	}
}

// moveEnd makes seq even again once every fingerprint has a home.
func (f *Filter) moveEnd() {
	if f.moving {
		f.moving = false
		f.seq.Add(1)
	}
}

// Count returns the number of ids held: inserts minus successful deletes.
func (f *Filter) Count() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

// Capacity returns the number of fingerprint slots in the table
// (4 × buckets). New(n) gives Capacity() >= n/0.95.
func (f *Filter) Capacity() uint64 {
	return uint64(len(f.buckets)) * BucketSlots
}

// LoadFactor returns the fraction of table slots in use, in [0, 1]. Ids in
// the overflow are not counted.
func (f *Filter) LoadFactor() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return float64(f.table) / float64(f.Capacity())
}

// NeedsRebuild reports whether ids sit in the overflow: the table is full
// and the filter should be rebuilt bigger from the ground truth (Grow). It
// stays true once the Bloom overflow was used, since only a rebuild clears
// it.
func (f *Filter) NeedsRebuild() bool {
	return f.overflowed.Load()
}
