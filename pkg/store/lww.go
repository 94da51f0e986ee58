package store

import (
	"bytes"
	"crypto/sha256"
)

// Stamp is what last-writer-wins compares: a row's version, whether it is a
// tombstone, and SHA-256 of its payload.
type Stamp struct {
	Version    uint64
	Deleted    bool
	PayloadSum [32]byte
}

// StampOf returns the stamp of w (its effective version; a delete's payload
// is ignored).
func StampOf(w Write) Stamp {
	if w.Op == OpDelete {
		return Stamp{Version: w.EffectiveVersion(), Deleted: true, PayloadSum: EmptySum}
	}
	return Stamp{Version: w.EffectiveVersion(), PayloadSum: sha256.Sum256(w.Payload)}
}

// EmptySum is SHA-256 of the empty payload, the payload_sum of tombstones.
var EmptySum = sha256.Sum256(nil)

// Wins reports whether incoming replaces existing: a higher version, or an
// equal version where incoming is a tombstone and existing is not, or both
// are puts and incoming's payload SHA-256 is bytewise greater. Equal stamps
// never win, so reapplying a write is a no-op.
func Wins(incoming, existing Stamp) bool {
	if incoming.Version != existing.Version {
		return incoming.Version > existing.Version
	}
	if incoming.Deleted != existing.Deleted {
		return incoming.Deleted
	}
	if incoming.Deleted {
		return false
	}
	return bytes.Compare(incoming.PayloadSum[:], existing.PayloadSum[:]) > 0
}
