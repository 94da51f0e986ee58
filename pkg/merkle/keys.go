package merkle

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadHash reports a hash that is not 32 bytes (or 64 hex digits).
var ErrBadHash = errors.New("merkle: hash is not 32 bytes")

// ErrBadConfig reports a Config that Validate or ParseConfig rejects.
var ErrBadConfig = errors.New("merkle: bad tree config")

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
	// children (0 = no buckets). A diff step lists at most Fanout entries,
	// except at the last bucket level, which holds the real children of its
	// bucket: about children/Fanout^Levels of them (all of them at Levels 0).
	// Each level costs writers one more edge per segment of an id.
	Levels int
}

// DefaultConfig: 16-way, 2 levels (256 buckets per real node).
var DefaultConfig = Config{Fanout: 16, Levels: 2}

// Validate checks the config; errors wrap ErrBadConfig.
func (c Config) Validate() error {
	if c.Fanout != 16 && c.Fanout != 256 {
		return fmt.Errorf("%w: fanout %d is not 16 or 256", ErrBadConfig, c.Fanout)
	}
	if c.Levels < 0 || c.Levels > 4 {
		return fmt.Errorf("%w: levels %d is not 0..4", ErrBadConfig, c.Levels)
	}
	return nil
}

// String is the persisted form, e.g. "f16l2".
func (c Config) String() string { return fmt.Sprintf("f%dl%d", c.Fanout, c.Levels) }

// ParseConfig parses the persisted form written by String and validates it;
// errors wrap ErrBadConfig.
func ParseConfig(s string) (Config, error) {
	var c Config
	var rest string
	n, _ := fmt.Sscanf(s, "f%dl%d%s", &c.Fanout, &c.Levels, &rest)
	if n != 2 || c.String() != s {
		return Config{}, fmt.Errorf("%w: %q is not of the form f<fanout>l<levels>", ErrBadConfig, s)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Edge is one parent -> child link of the tree. The child's subtree hash is
// stored on the edge.
type Edge struct {
	Parent string
	Child  string
}

// IsBucket reports whether key names a bucket node.
func IsBucket(key string) bool { return strings.IndexByte(key, BucketSep) >= 0 }

// bucketHash is FNV-1a 64 over s followed by the MurmurHash3 fmix64
// finalizer. FNV-1a alone barely moves its top bits when ids differ only in
// their last characters ("order.0001" ... "order.0090" would share one
// bucket), and the bucket digits are the top bits; the finalizer spreads
// every input bit over all output bits.
func bucketHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

const hexdigits = "0123456789abcdef"

// digitWidth is the number of hex characters per bucket digit.
func (c Config) digitWidth() int {
	if c.Fanout == 256 {
		return 2
	}
	return 1
}

// appendDigits appends the Levels bucket digits of segment seg to buf, each
// as one (fanout 16) or two (fanout 256) lowercase hex characters: the
// leading base-Fanout digits of bucketHash(seg), most significant first.
func (c Config) appendDigits(buf []byte, seg string) []byte {
	h := bucketHash(seg)
	for range c.Levels {
		if c.Fanout == 256 {
			b := byte(h >> 56)
			h <<= 8
			buf = append(buf, hexdigits[b>>4], hexdigits[b&15])
		} else {
			buf = append(buf, hexdigits[h>>60])
			h <<= 4
		}
	}
	return buf
}

// lastBucket is the key of the last bucket level between real node parent
// and its child segment seg: parent + ">" + all Levels digits.
func (c Config) lastBucket(parent, seg string) string {
	buf := make([]byte, 0, len(parent)+1+c.Levels*c.digitWidth())
	buf = append(buf, parent...)
	buf = append(buf, BucketSep)
	return string(c.appendDigits(buf, seg))
}

// Path returns the edges from the root down to id, in order (root first):
// for each segment, Levels bucket edges and then the edge into the real
// node, so len(Path(id)) = segments(id) * (Levels+1). id must be a valid id
// (item.ValidateID); Path does not check it.
//
// Keys share memory with id and with each other (one allocation per segment
// for the bucket keys), so Path is cheap enough for the writer's hot path.
func (c Config) Path(id string) []Edge {
	edges := make([]Edge, 0, (strings.Count(id, ".")+1)*(c.Levels+1))
	parent := ""
	start := 0
	w := c.digitWidth()
	for start <= len(id) {
		end := strings.IndexByte(id[start:], '.')
		if end < 0 {
			end = len(id)
		} else {
			end += start
		}
		child := id[:end]
		up := parent
		if c.Levels > 0 {
			last := c.lastBucket(parent, id[start:end])
			for l := 1; l <= c.Levels; l++ {
				key := last[:len(parent)+1+l*w]
				edges = append(edges, Edge{Parent: up, Child: key})
				up = key
			}
		}
		edges = append(edges, Edge{Parent: up, Child: child})
		parent = child
		start = end + 1
	}
	return edges
}

// ParentOf returns the parent key of a child key: for a bucket key its
// bucket (or real node) above, for a real node the last bucket between it
// and its real parent (the real parent itself when Levels is 0). The root
// has no parent. key must be a key of this Config's tree.
func (c Config) ParentOf(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	if i := strings.IndexByte(key, BucketSep); i >= 0 {
		w := c.digitWidth()
		if len(key)-(i+1) <= w {
			return key[:i], true
		}
		return key[:len(key)-w], true
	}
	parent, seg := "", key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		parent, seg = key[:i], key[i+1:]
	}
	if c.Levels == 0 {
		return parent, true
	}
	return c.lastBucket(parent, seg), true
}

// depth is the number of segments of a real key (0 for the root).
func depth(key string) int {
	if key == "" {
		return 0
	}
	return strings.Count(key, ".") + 1
}
