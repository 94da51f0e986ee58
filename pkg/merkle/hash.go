package merkle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Size is the byte length of a Hash.
const Size = 32

// Lanes is the number of 32-bit lanes in a Hash.
const Lanes = Size / 4

// Hash is a 256-bit value read as 8 little-endian uint32 lanes. Node hashes
// combine leaf hashes by lane-wise addition mod 2^32, which is commutative,
// associative and invertible, so deltas can be applied in any order.
type Hash [Size]byte

// Zero is the hash of the empty set. Treat it as a constant.
var Zero Hash

// IsZero reports whether h is the empty-set hash.
func (h Hash) IsZero() bool { return h == Zero }

// Lane returns lane i (0..7).
func (h Hash) Lane(i int) uint32 { return binary.LittleEndian.Uint32(h[4*i:]) }

// FromLanes builds a Hash from 8 lanes.
func FromLanes(l [Lanes]uint32) Hash {
	var h Hash
	for i, v := range l {
		binary.LittleEndian.PutUint32(h[4*i:], v)
	}
	return h
}

// LanesOf returns the 8 lanes of h.
func (h Hash) LanesOf() [Lanes]uint32 {
	var l [Lanes]uint32
	for i := range l {
		l[i] = h.Lane(i)
	}
	return l
}

// Add returns h + o lane-wise mod 2^32.
func (h Hash) Add(o Hash) Hash {
	var r Hash
	for i := 0; i < Size; i += 4 {
		binary.LittleEndian.PutUint32(r[i:], binary.LittleEndian.Uint32(h[i:])+binary.LittleEndian.Uint32(o[i:]))
	}
	return r
}

// Sub returns h - o lane-wise mod 2^32.
func (h Hash) Sub(o Hash) Hash {
	var r Hash
	for i := 0; i < Size; i += 4 {
		binary.LittleEndian.PutUint32(r[i:], binary.LittleEndian.Uint32(h[i:])-binary.LittleEndian.Uint32(o[i:]))
	}
	return r
}

// String is the lowercase hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash decodes the hex form of a Hash: 64 hex digits (either case).
// Errors wrap ErrBadHash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*Size {
		return h, fmt.Errorf("%w: %d characters, want %d hex digits", ErrBadHash, len(s), 2*Size)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return Hash{}, fmt.Errorf("%w: %w", ErrBadHash, err)
	}
	return h, nil
}

// HashFromBytes copies a 32-byte slice into a Hash. Errors wrap ErrBadHash.
func HashFromBytes(b []byte) (Hash, error) {
	var h Hash
	if len(b) != Size {
		return h, fmt.Errorf("%w: %d bytes", ErrBadHash, len(b))
	}
	copy(h[:], b)
	return h, nil
}

// leafDomain separates leaf hashes from any other SHA-256 use.
const leafDomain = "syncline/leaf/v1"

// PayloadSum is SHA-256(payload), the payload's part of a leaf hash.
func PayloadSum(payload []byte) [32]byte { return sha256.Sum256(payload) }

// LeafHash is SHA-256("syncline/leaf/v1" || u32be(len(id)) || id ||
// u64be(version) || payloadSum). Tombstones have no leaf.
func LeafHash(id string, version uint64, payloadSum [32]byte) Hash {
	buf := make([]byte, 0, len(leafDomain)+4+len(id)+8+32)
	buf = append(buf, leafDomain...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(id)))
	buf = append(buf, id...)
	buf = binary.BigEndian.AppendUint64(buf, version)
	buf = append(buf, payloadSum[:]...)
	return sha256.Sum256(buf)
}

// LeafOf is LeafHash over a payload.
func LeafOf(id string, version uint64, payload []byte) Hash {
	return LeafHash(id, version, PayloadSum(payload))
}
