package merkle

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadHash reports a hash that is not 32 bytes (or 64 hex digits).
var ErrBadHash = errors.New("merkle: hash is not 32 bytes")

// ErrConfigMismatch reports a store built with another tree Config.
var ErrConfigMismatch = errors.New("merkle: store was built with another tree config")

// BucketSep separates a real node from its bucket digits; it never occurs in
// an id.
const BucketSep = '>'

// Config fixes the tree shape. Every store of one pipeline must use the same
// Config: it is persisted with the SQL tree and checked at start.
type Config struct {
	// Fanout is the number of buckets per bucket level: 16 or 256.
	Fanout int
	// Levels is the number of bucket levels between a real node and its
	// children (0 = no buckets). A diff step lists at most
	// max(Fanout, children/Fanout^Levels) entries.
	Levels int
}

// DefaultConfig: 16-way, 2 levels (256 buckets per real node).
var DefaultConfig = Config{Fanout: 16, Levels: 2}

// Validate checks the config.
func (c Config) Validate() error {
	if c.Fanout != 16 && c.Fanout != 256 {
		return fmt.Errorf("merkle: fanout %d is not 16 or 256", c.Fanout)
	}
	if c.Levels < 0 || c.Levels > 4 {
		return fmt.Errorf("merkle: levels %d is not 0..4", c.Levels)
	}
	return nil
}

// String is the persisted form, e.g. "f16l2".
func (c Config) String() string { return fmt.Sprintf("f%dl%d", c.Fanout, c.Levels) }

// Edge is one parent -> child link of the tree. The child's subtree hash is
// stored on the edge.
type Edge struct {
	Parent string
	Child  string
}

// IsBucket reports whether key names a bucket node.
func IsBucket(key string) bool { return strings.IndexByte(key, BucketSep) >= 0 }

// fnv64a is FNV-1a 64 over s.
func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

const hexdigits = "0123456789abcdef"

// bucketDigits returns the Levels bucket digits of segment seg, each as one
// (fanout 16) or two (fanout 256) hex characters.
func (c Config) bucketDigits(seg string) []string {
	h := fnv64a(seg)
	out := make([]string, c.Levels)
	for i := range out {
		if c.Fanout == 256 {
			b := byte(h >> 56)
			h <<= 8
			out[i] = string([]byte{hexdigits[b>>4], hexdigits[b&15]})
		} else {
			b := byte(h >> 60)
			h <<= 4
			out[i] = string(hexdigits[b])
		}
	}
	return out
}

// Path returns the edges from the root down to id, in order (root first).
// id must be a valid id.
func (c Config) Path(id string) []Edge {
	edges := make([]Edge, 0, (strings.Count(id, ".")+1)*(c.Levels+1))
	parent := ""
	start := 0
	for start <= len(id) {
		end := strings.IndexByte(id[start:], '.')
		if end < 0 {
			end = len(id)
		} else {
			end += start
		}
		seg := id[start:end]
		child := id[:end]
		up := parent
		key := parent + string(BucketSep)
		for _, d := range c.bucketDigits(seg) {
			key += d
			edges = append(edges, Edge{Parent: up, Child: key})
			up = key
		}
		edges = append(edges, Edge{Parent: up, Child: child})
		parent = child
		start = end + 1
	}
	return edges
}

// ParentOf returns the parent key of a child key. The root has no parent.
func (c Config) ParentOf(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	if i := strings.IndexByte(key, BucketSep); i >= 0 {
		digits := key[i+1:]
		w := 1
		if c.Fanout == 256 {
			w = 2
		}
		if len(digits) <= w {
			return key[:i], true
		}
		return key[:len(key)-w], true
	}
	// real node: parent is the last bucket of its real parent
	p := c.Path(key)
	return p[len(p)-1].Parent, true
}
