package store

import (
	"fmt"
	"time"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
)

// Op is what a write does to its id.
type Op uint8

// The operations.
const (
	// OpPut stores a payload.
	OpPut Op = iota + 1
	// OpDelete stores a tombstone.
	OpDelete
)

func (o Op) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpDelete:
		return "del"
	default:
		return fmt.Sprintf("op(%d)", uint8(o))
	}
}

// Write is one WAL message as the store applies it.
type Write struct {
	// Seq is the WAL (JetStream stream) sequence of the message.
	Seq uint64
	ID  string
	Op  Op
	// Version is the LWW version; 0 means "use Seq".
	Version     uint64
	Payload     []byte
	ContentType string
	// State is the optional caller tag ("" = none).
	State string
	// CacheTTL is the Redis expiry of the item (0 = none); SQL keeps it.
	CacheTTL time.Duration
	// Route is RouteDefault or RouteDurable (kept out of Redis); stored
	// with puts only.
	Route item.Route
	// Origin is the write's Sync-Origin, passed to the Change (not stored).
	Origin string
}

// EffectiveVersion is Version, or Seq when Version is 0.
func (w Write) EffectiveVersion() uint64 {
	if w.Version == 0 {
		return w.Seq
	}
	return w.Version
}

// Change is one id whose row a batch replaced: what the commit feed
// publishes.
type Change struct {
	ID      string
	Version uint64
	// Leaf is the new leaf hash; zero when Deleted.
	Leaf        merkle.Hash
	Deleted     bool
	State       string
	ContentType string
	CacheTTL    time.Duration
	// Seq is the WAL sequence of the winning write.
	Seq uint64
	// Route and Origin are the winning write's.
	Route  item.Route
	Origin string
	// PayloadSum is SHA-256 of the payload (EmptySum for tombstones).
	PayloadSum [32]byte
}

// Result is what ApplyBatch committed.
type Result struct {
	// Changes lists the ids whose rows changed, sorted by id. Writes that
	// lost to the stored row (or to another write of the batch) are absent.
	Changes []Change
	// Root is the merkle root read in the committing transaction after the
	// batch's deltas were applied.
	Root merkle.Hash
}

// Item is one row of sync_items.
type Item struct {
	ID          string
	Version     uint64
	Payload     []byte
	ContentType string
	State       string
	Deleted     bool
	// Leaf is zero for tombstones.
	Leaf      merkle.Hash
	CacheTTL  time.Duration
	UpdatedAt time.Time
	// Seq is the WAL sequence of the write that produced the row.
	Seq uint64
	// Route is RouteDurable for an item kept out of Redis.
	Route item.Route
}

// Entry is the part of a live item that filter rebuilds and full
// comparisons need.
type Entry struct {
	ID      string
	Version uint64
	Leaf    merkle.Hash
}

// Query selects live items for List and Count.
type Query struct {
	// Prefix matches on segment boundaries: "a.b" covers "a.b" and "a.b.x",
	// never "a.bc". Empty matches everything.
	Prefix string
	// State, when set, matches items with exactly this state.
	State string
}

// Config is what every adapter needs besides its connection.
type Config struct {
	// Tree fixes the merkle tree shape; it is persisted and checked at open.
	// Zero value: merkle.DefaultConfig.
	Tree merkle.Config
	// Now stamps updated_at (tombstone retention is measured against it).
	// Default time.Now.
	Now func() time.Time
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Tree == (merkle.Config{}) {
		c.Tree = merkle.DefaultConfig
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks the config (after WithDefaults).
func (c Config) Validate() error {
	if err := c.Tree.Validate(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
