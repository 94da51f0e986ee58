package cuckoo

import "sync"

// Trust records whether a reader may answer "absent" from its filter.
//
// A snapshot in the object store was built at a SQL merkle root and
// includes every commit-feed record up to a sequence. Alone it is stale;
// it becomes trustworthy only together with the commit feed replayed from
// the record after that sequence without gaps, each record's ids applied
// to the filter through Apply. Any
// gap (a record skipped, the consumer restarted past a deleted message)
// revokes trust, and only a newer snapshot (Set) restores it. While
// untrusted, readers answer from storage.
//
// The reader should subscribe to the feed before it loads the snapshot
// and apply records with sequence > Seq, so that none falls between the
// two.
//
// The zero Trust is untrusted. A Trust is safe for concurrent use.
type Trust struct {
	mu    sync.Mutex
	state TrustState
}

// TrustState is a point-in-time copy of a Trust.
type TrustState struct {
	// Trusted is true when the filter reflects SQL at Root.
	Trusted bool
	// Root is the SQL merkle root the filter reflects (zero if untrusted).
	Root [32]byte
	// Seq is the last commit-feed sequence applied (zero if untrusted).
	Seq uint64
}

// Set trusts a freshly loaded snapshot built at root that includes the
// commit feed up to and including seq.
func (t *Trust) Set(root [32]byte, seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state = TrustState{Trusted: true, Root: root, Seq: seq}
}

// Revoke makes the filter untrusted, e.g. when the feed subscription is
// lost.
func (t *Trust) Revoke() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state = TrustState{}
}

// Apply handles the commit-feed record seq, which moved SQL to root. If
// the filter is trusted and seq is the next sequence, Apply calls apply
// (which updates the filter with the record's ids), records seq and root,
// and returns true. A record at or below the current sequence is a
// redelivery: apply is not called and trust is unchanged. A record beyond
// the next sequence is a gap: trust is revoked and apply is not called.
// While untrusted, Apply does nothing and returns false.
//
// apply runs with the Trust locked, so concurrent Apply calls cannot
// reorder; it must not call back into t.
func (t *Trust) Apply(seq uint64, root [32]byte, apply func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !t.state.Trusted:
	case seq <= t.state.Seq:
	case seq == t.state.Seq+1:
		if apply != nil {
			apply()
		}
		t.state.Seq, t.state.Root = seq, root
	default:
		t.state = TrustState{}
	}
	return t.state.Trusted
}

// Trusted reports whether a negative Lookup may be believed.
func (t *Trust) Trusted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state.Trusted
}

// Load returns a copy of the current state.
func (t *Trust) Load() TrustState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}
