package cuckoo

// A bucket is one uint64 word holding BucketSlots 16-bit fingerprints,
// slot j in bits 16j..16j+15; 0 is an empty slot. The helpers below keep
// Filter.table in step; callers hold Filter.mu.

const (
	lanes    uint64 = 0x0001_0001_0001_0001 // 1 in every 16-bit slot
	laneHigh uint64 = 0x8000_8000_8000_8000 // top bit of every slot
)

// place puts fp into a free slot of bucket i, if there is one.
func (f *Filter) place(i uint64, fp uint16) bool {
	w := f.buckets[i].Load()
	for shift := uint64(0); shift < 64; shift += FingerprintBits {
		if uint16(w>>shift) == 0 {
			f.buckets[i].Store(w | uint64(fp)<<shift)
			f.table++
			return true
		}
	}
	return false
}

// remove clears one slot of bucket i holding fp, if there is one.
func (f *Filter) remove(i uint64, fp uint16) bool {
	w := f.buckets[i].Load()
	for shift := uint64(0); shift < 64; shift += FingerprintBits {
		if uint16(w>>shift) == fp {
			f.buckets[i].Store(w &^ (0xFFFF << shift))
			f.table--
			return true
		}
	}
	return false
}

// hasFingerprint reports whether any 16-bit slot of bucket word w equals
// fp, without a loop: x has a zero slot exactly where w holds fp, and
// (x - lanes) &^ x sets a slot's top bit for the lowest zero slot (borrows
// can mark more slots above it, but only if a zero slot exists).
func hasFingerprint(w uint64, fp uint16) bool {
	x := w ^ uint64(fp)*lanes
	return (x-lanes)&^x&laneHigh != 0
}

// hasFingerprint2 is hasFingerprint over two buckets without a branch
// between them: both loads issue at once, and a hit in either bucket costs
// no mispredicted branch.
func hasFingerprint2(w1, w2 uint64, fp uint16) bool {
	p := uint64(fp) * lanes
	x1, x2 := w1^p, w2^p
	return ((x1-lanes)&^x1|(x2-lanes)&^x2)&laneHigh != 0
}

// usedSlots returns how many slots of bucket word w hold a fingerprint.
func usedSlots(w uint64) uint64 {
	n := uint64(0)
	for shift := 0; shift < 64; shift += FingerprintBits {
		if uint16(w>>shift) != 0 {
			n++
		}
	}
	return n
}
