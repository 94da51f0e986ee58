package wal

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/item"
)

// CommitRecordVersion is the V of records this package writes.
const CommitRecordVersion = 1

// CommitRecord is one commit feed message: what one SQL commit changed and
// the SQL merkle root after it. JSON, snake_case field names.
type CommitRecord struct {
	V      int    `json:"v"`
	Origin string `json:"origin"`
	Writer string `json:"writer"`
	// Root is the hex SQL merkle root after the commit (64 hex digits).
	Root    string         `json:"root"`
	Changes []CommitChange `json:"changes"`
}

// CommitChange is one item changed by a commit.
type CommitChange struct {
	ID      string `json:"id"`
	Version uint64 `json:"version"`
	// Leaf is the hex leaf hash; empty when Deleted.
	Leaf        string `json:"leaf,omitempty"`
	Deleted     bool   `json:"deleted,omitempty"`
	State       string `json:"state,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	// CacheTTL is the Redis expiry in seconds, 0 for none.
	CacheTTL int64 `json:"cache_ttl,omitempty"`
	// Seq is the WAL sequence of the write.
	Seq uint64 `json:"seq"`
	// Origin is the write's Sync-Origin; empty for a write without one.
	Origin string `json:"origin,omitempty"`
	// Route is "durable" for an item kept out of Redis; empty for the
	// default route.
	Route string `json:"route,omitempty"`
	// PayloadSHA256 is the hex SHA-256 of the payload (64 hex digits);
	// empty when Deleted, and in records of writers that predate it.
	PayloadSHA256 string `json:"payload_sha256,omitempty"`
}

// MaxCommitRecordBytes bounds a record on decode.
const MaxCommitRecordBytes = 8 << 20

// EncodeCommit validates r and returns its JSON.
func EncodeCommit(r CommitRecord) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

// DecodeCommit parses and validates a record from the feed. Unknown fields
// are ignored (forward compatibility); a V other than 1 is an error.
func DecodeCommit(data []byte) (CommitRecord, error) {
	if len(data) > MaxCommitRecordBytes {
		return CommitRecord{}, fmt.Errorf("wal: commit record of %d bytes exceeds %d", len(data), MaxCommitRecordBytes)
	}
	var r CommitRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return CommitRecord{}, fmt.Errorf("wal: commit record: %w", err)
	}
	if dec.More() {
		return CommitRecord{}, errors.New("wal: commit record: trailing data")
	}
	if err := r.Validate(); err != nil {
		return CommitRecord{}, err
	}
	return r, nil
}

// Validate checks the record's invariants.
func (r CommitRecord) Validate() error {
	if r.V != CommitRecordVersion {
		return fmt.Errorf("wal: commit record version %d, want %d", r.V, CommitRecordVersion)
	}
	if !isHash(r.Root) {
		return fmt.Errorf("wal: commit record root %q is not 64 hex digits", clip(r.Root))
	}
	for i, c := range r.Changes {
		if err := item.ValidateID(c.ID); err != nil {
			return fmt.Errorf("wal: commit change %d: %w", i, err)
		}
		if err := item.ValidateVersion(c.Version); err != nil {
			return fmt.Errorf("wal: commit change %d: %w", i, err)
		}
		if c.Deleted != (c.Leaf == "") {
			return fmt.Errorf("wal: commit change %d: a change has a leaf exactly when it is not deleted", i)
		}
		if !c.Deleted && !isHash(c.Leaf) {
			return fmt.Errorf("wal: commit change %d: leaf %q is not 64 hex digits", i, clip(c.Leaf))
		}
		if c.State != "" {
			if _, err := item.ParseState(c.State); err != nil {
				return fmt.Errorf("wal: commit change %d: %w", i, err)
			}
		}
		if c.ContentType != "" && c.ContentType != item.ContentTypeJSON && c.ContentType != item.ContentTypeBinary {
			return fmt.Errorf("wal: commit change %d: content type %q", i, clip(c.ContentType))
		}
		if c.CacheTTL < 0 || c.CacheTTL > int64(item.MaxCacheTTL.Seconds()) {
			return fmt.Errorf("wal: commit change %d: cache ttl %d", i, c.CacheTTL)
		}
		if err := c.validateCDC(); err != nil {
			return fmt.Errorf("wal: commit change %d: %w", i, err)
		}
	}
	return nil
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// PublishCommit appends r to the commit feed and returns its feed sequence.
func PublishCommit(ctx context.Context, js jetstream.Publisher, n Names, r CommitRecord) (uint64, error) {
	data, err := EncodeCommit(r)
	if err != nil {
		return 0, err
	}
	ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: n.CommitsSubject(), Data: data})
	if err != nil {
		return 0, fmt.Errorf("wal: publish commit: %w", err)
	}
	return ack.Sequence, nil
}

// Gap reports commit feed records a follower did not see: every sequence
// in (After, Next) is missing, or the record at Next could not be decoded
// (Err set). A reader that relies on the feed, such as a filter copy, stops
// trusting it until it resynchronises from storage.
type Gap struct {
	After uint64
	Next  uint64
	Err   error
}

// CommitFollower follows the commit feed with an ordered consumer from a
// start sequence, calling OnRecord for each record in order and OnGap when
// records are missing (expired by age, or undecodable).
type CommitFollower struct {
	cc   jetstream.ConsumeContext
	mu   sync.Mutex
	last uint64
}

// FollowHandlers are a follower's callbacks; they run on the consumer's
// goroutine, one at a time, and must not block for long.
type FollowHandlers struct {
	OnRecord func(seq uint64, r CommitRecord)
	OnGap    func(Gap)
}

// FollowCommits starts following the feed at startSeq (>= 1). Records
// before startSeq are the caller's: a snapshot built at feed sequence S
// follows from S+1. Stop ends it.
func FollowCommits(ctx context.Context, js jetstream.JetStream, n Names, startSeq uint64, h FollowHandlers) (*CommitFollower, error) {
	if startSeq < 1 {
		return nil, errors.New("wal: follow commits: startSeq < 1")
	}
	if h.OnRecord == nil || h.OnGap == nil {
		return nil, errors.New("wal: follow commits: OnRecord and OnGap are required")
	}
	cons, err := js.OrderedConsumer(ctx, n.CommitsStream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{n.CommitsSubject()},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    startSeq,
	})
	if err != nil {
		return nil, fmt.Errorf("wal: follow commits: %w", err)
	}
	f := &CommitFollower{last: startSeq - 1}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		seq := md.Sequence.Stream
		f.mu.Lock()
		last := f.last
		if seq <= last {
			f.mu.Unlock()
			return
		}
		f.last = seq
		f.mu.Unlock()
		if seq != last+1 {
			h.OnGap(Gap{After: last, Next: seq})
		}
		r, err := DecodeCommit(m.Data())
		if err != nil {
			h.OnGap(Gap{After: seq - 1, Next: seq, Err: err})
			return
		}
		h.OnRecord(seq, r)
	})
	if err != nil {
		return nil, fmt.Errorf("wal: follow commits: %w", err)
	}
	f.cc = cc
	return f, nil
}

// Last returns the last feed sequence seen.
func (f *CommitFollower) Last() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// Stop stops following and waits until no callback runs any more.
func (f *CommitFollower) Stop() {
	f.cc.Stop()
	<-f.cc.Closed()
}
