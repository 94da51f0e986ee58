package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/wal"
)

// The commit feed as a change-data-capture stream (docs/query.md): one
// wal.CommitRecord (format v1) per SQL commit, in the stream
// <PREFIX>_COMMITS on subject <prefix>.commits, numbered by the stream
// sequence. A consumer remembers the sequence of the last record it has
// processed and resumes at the next one.

// CommitGapError reports records a follower cannot deliver: those in
// (After, Next) are gone (the feed keeps records for a limited age), or,
// with Err set, the record at Next could not be decoded. Changes in the
// gap are lost to the follower; it resynchronises from a listing (List,
// MGet) and resumes at Resume.
type CommitGapError struct {
	After, Next uint64
	Err         error
	// Resume is the sequence to follow from after handling the gap.
	Resume uint64
}

func (e *CommitGapError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("client: commit feed record %d undecodable: %v", e.Next, e.Err)
	}
	return fmt.Sprintf("client: commit feed records %d..%d are gone", e.After+1, e.Next-1)
}

func (e *CommitGapError) Unwrap() error { return e.Err }

// FeedInfo describes the commit feed.
type FeedInfo struct {
	// FirstSeq and LastSeq bound the records the feed still holds (both 0
	// while it is empty; FirstSeq = LastSeq+1 once every record expired).
	FirstSeq, LastSeq uint64
}

// CommitFeed returns the feed's bounds: follow from LastSeq+1 for changes
// from now on, from FirstSeq for everything still held.
func (c *Client) CommitFeed(ctx context.Context) (FeedInfo, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	st, err := c.js.Stream(ctx, c.names.CommitsStream())
	if err != nil {
		return FeedInfo{}, transportError(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return FeedInfo{}, transportError(err)
	}
	return FeedInfo{FirstSeq: info.State.FirstSeq, LastSeq: info.State.LastSeq}, nil
}

// FollowCommits calls fn with every commit record from sequence from (>= 1)
// on, one at a time and in feed order, until ctx ends (it then returns
// ctx's error), fn returns an error (returned as is; the record it failed
// on was not processed), or records are missing (*CommitGapError). It
// delivers each record at least once to a caller that persists the last
// processed sequence and resumes from the next: resuming is calling
// FollowCommits again with that sequence.
func (c *Client) FollowCommits(ctx context.Context, from uint64, fn func(seq uint64, r wal.CommitRecord) error) error {
	if from < 1 {
		return errors.New("client: follow commits from sequence 0")
	}
	cons, err := c.js.OrderedConsumer(ctx, c.names.CommitsStream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{c.names.CommitsSubject()},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
	})
	if err != nil {
		return transportError(err)
	}
	it, err := cons.Messages()
	if err != nil {
		return transportError(err)
	}
	defer it.Stop()
	next := from
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return transportError(err)
		}
		md, err := m.Metadata()
		if err != nil {
			continue // not a stream message
		}
		seq := md.Sequence.Stream
		if seq < next {
			continue // redelivered after a consumer reset
		}
		if seq > next {
			return &CommitGapError{After: next - 1, Next: seq, Resume: seq}
		}
		rec, err := wal.DecodeCommit(m.Data())
		if err != nil {
			return &CommitGapError{After: seq - 1, Next: seq, Err: err, Resume: seq + 1}
		}
		if err := fn(seq, rec); err != nil {
			return err
		}
		next = seq + 1
	}
}

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}
