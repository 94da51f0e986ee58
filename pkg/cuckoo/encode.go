package cuckoo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"

	"github.com/bits-and-blooms/bloom/v3"
)

// Snapshot format constants; doc.go describes the layout byte by byte.
const (
	snapshotMagic   = "SLCF"
	snapshotVersion = 1
	hashXXH64       = 1 // XXH64 seed 0, index and fingerprint as in hash.go
	flagBloom       = 1 << 0
	headerLen       = 24
	bloomHeaderLen  = 16
	trailerLen      = 4
	maxBloomK       = 64
)

var (
	// ErrCorrupt is returned for a snapshot that is truncated, fails its
	// checksum or holds inconsistent fields.
	ErrCorrupt = errors.New("cuckoo: corrupt snapshot")
	// ErrUnsupported is returned for a well-formed snapshot of a format
	// version or parameters this code does not implement.
	ErrUnsupported = errors.New("cuckoo: unsupported snapshot")
)

// MarshalBinary encodes the filter as a snapshot (doc.go).
func (f *Filter) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(nil)
}

// AppendBinary appends the snapshot encoding of the filter to b.
func (f *Filter) AppendBinary(b []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	start := len(b)
	var flags byte
	if f.ovf.bloom != nil {
		flags |= flagBloom
	}
	b = append(b, snapshotMagic...)
	b = append(b, snapshotVersion, hashXXH64, FingerprintBits, BucketSlots,
		byte(bits.Len64(f.mask)), flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(f.ovf.stash)))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, f.count)
	for i := range f.buckets {
		b = binary.LittleEndian.AppendUint64(b, f.buckets[i].Load())
	}
	for _, key := range f.ovf.stash {
		b = binary.LittleEndian.AppendUint64(b, key)
	}
	if bf := f.ovf.bloom; bf != nil {
		b = binary.LittleEndian.AppendUint64(b, uint64(bf.Cap()))
		b = binary.LittleEndian.AppendUint32(b, uint32(bf.K()))
		b = binary.LittleEndian.AppendUint32(b, 0)
		for _, w := range bf.BitSet().Words() {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
	}
	sum := crc32.Checksum(b[start:], crc32.MakeTable(crc32.Castagnoli))
	return binary.LittleEndian.AppendUint32(b, sum), nil
}

// UnmarshalBinary replaces f's contents with the decoded snapshot. Unlike
// the other methods it must not run concurrently with any use of f (its
// lock-free Lookup reads the table unlocked); prefer Decode, which returns
// a fresh Filter. On error f is unchanged.
func (f *Filter) UnmarshalBinary(data []byte) error {
	g, err := Decode(data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buckets, f.mask = g.buckets, g.mask
	f.count, f.table, f.ovf, f.rng = g.count, g.table, g.ovf, g.rng
	f.overflowed.Store(g.overflowed.Load())
	return nil
}

// Decode parses a snapshot. It never panics on arbitrary input and
// allocates only after checking that data is as long as its header says,
// so allocation is bounded by len(data). Errors wrap ErrCorrupt or
// ErrUnsupported.
func Decode(data []byte) (*Filter, error) {
	if len(data) < headerLen+trailerLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than header", ErrCorrupt, len(data))
	}
	if string(data[:4]) != snapshotMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, data[:4])
	}
	if v := data[4]; v != snapshotVersion {
		return nil, fmt.Errorf("%w: format version %d (want %d)", ErrUnsupported, v, snapshotVersion)
	}
	body := data[:len(data)-trailerLen]
	want := binary.LittleEndian.Uint32(data[len(body):])
	if got := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	if data[5] != hashXXH64 || data[6] != FingerprintBits || data[7] != BucketSlots {
		return nil, fmt.Errorf("%w: hash %d, %d-bit fingerprints, %d slots per bucket",
			ErrUnsupported, data[5], data[6], data[7])
	}
	log2, flags := int(data[8]), data[9]
	nStash := uint64(binary.LittleEndian.Uint16(data[10:12]))
	count := binary.LittleEndian.Uint64(data[16:24])
	switch {
	case log2 < 1 || log2 > MaxBucketsLog2:
		return nil, fmt.Errorf("%w: 2^%d buckets", ErrCorrupt, log2)
	case flags&^flagBloom != 0 || binary.LittleEndian.Uint32(data[12:16]) != 0:
		return nil, fmt.Errorf("%w: reserved bits set", ErrCorrupt)
	case nStash > MaxStash:
		return nil, fmt.Errorf("%w: %d stash entries (max %d)", ErrCorrupt, nStash, MaxStash)
	}
	rest := body[headerLen:]
	nBuckets := uint64(1) << log2
	if fixed := 8*nBuckets + 8*nStash; uint64(len(rest)) < fixed {
		return nil, fmt.Errorf("%w: %d bytes for %d buckets and %d stash entries",
			ErrCorrupt, len(rest), nBuckets, nStash)
	}
	f := newLog2(log2)
	for i := range f.buckets {
		w := binary.LittleEndian.Uint64(rest[8*i:])
		f.buckets[i].Store(w)
		f.table += usedSlots(w)
	}
	rest = rest[8*nBuckets:]
	for j := range nStash {
		key := binary.LittleEndian.Uint64(rest[8*j:])
		i, fp := key>>16, uint16(key)
		if fp == 0 || i > f.mask || stashKey(i, fp, f.mask) != key {
			return nil, fmt.Errorf("%w: stash entry %d is %#x", ErrCorrupt, j, key)
		}
		f.ovf.stash = append(f.ovf.stash, key)
	}
	rest = rest[8*nStash:]
	var err error
	if flags&flagBloom != 0 {
		f.ovf.bloom, rest, err = decodeBloom(rest)
		if err != nil {
			return nil, err
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(rest))
	}
	held := f.table + nStash
	if count < held || (f.ovf.bloom == nil && count != held) {
		return nil, fmt.Errorf("%w: count %d, but %d in table and %d stashed",
			ErrCorrupt, count, f.table, nStash)
	}
	f.count = count
	f.overflowed.Store(f.ovf.holds())
	return f, nil
}

func decodeBloom(b []byte) (*bloom.BloomFilter, []byte, error) {
	if len(b) < bloomHeaderLen {
		return nil, nil, fmt.Errorf("%w: truncated bloom header", ErrCorrupt)
	}
	m := binary.LittleEndian.Uint64(b)
	k := binary.LittleEndian.Uint32(b[8:])
	reserved := binary.LittleEndian.Uint32(b[12:])
	b = b[bloomHeaderLen:]
	switch {
	case m == 0 || m%64 != 0 || m/8 > uint64(len(b)):
		return nil, nil, fmt.Errorf("%w: bloom of %d bits in %d bytes", ErrCorrupt, m, len(b))
	case k == 0 || k > maxBloomK:
		return nil, nil, fmt.Errorf("%w: bloom with %d hash functions", ErrCorrupt, k)
	case reserved != 0:
		return nil, nil, fmt.Errorf("%w: reserved bloom bits set", ErrCorrupt)
	}
	words := make([]uint64, m/64)
	for j := range words {
		words[j] = binary.LittleEndian.Uint64(b[8*j:])
	}
	return bloom.FromWithM(words, uint(m), uint(k)), b[m/8:], nil
}
