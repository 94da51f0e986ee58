// Package cdc replicates one Syncline pipeline into another through the
// commit feed, Syncline's change-data-capture stream (docs/query.md).
//
// A Replicator follows the source's feed from a sequence, reads the
// payloads of the changed items from the source (MGet at the record's WAL
// sequence, so the read includes the change) and writes them into the
// target through its ingest service with the source's versions, so that
// last-writer-wins orders them as in the source. Deletes become deletes at
// the same version.
//
// # No echo
//
// Every write the Replicator makes carries Sync-Origin: the change's own
// origin, or Config.Source for a change written to the source directly.
// The target's writer copies it into the target's commit record, and the
// Replicator of the opposite direction skips changes whose origin is its
// target. So with two Replicators A->B and B->A, a write made to A reaches
// B once and is never sent back to A; with more pipelines the original
// origin is kept along the way. A write that changes nothing (the same
// version and payload) produces no change at all, so echoes die out even
// without origins.
//
// # Resuming
//
// Run returns when its context ends or on a failure it cannot retry; Last
// is the feed sequence of the last record fully applied (Config.OnApplied
// is called with each), and a new Replicator with From = Last()+1 goes on
// without loss. Records may be applied twice after a restart: replaying a
// write is a no-op.
//
// # Gaps
//
// The feed keeps records for a limited age, and a writer that cannot
// publish a record drops it (the feed is a hint). On a gap the Replicator
// resynchronises: it copies every live item of the source into the target
// (versions decide, so this is idempotent), then follows on. A resync
// cannot see deletions (tombstones are not listed) nor cache TTLs.
package cdc

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// Config configures a Replicator.
type Config struct {
	// Source is the origin name of the source pipeline: the Sync-Origin of
	// changes written to it directly. Required.
	Source string
	// Target is the origin name of the target pipeline: changes with this
	// origin came from it and are skipped. Required.
	Target string
	// From is the first feed sequence to replicate. Default 1.
	From uint64
	// InFlight bounds the writes to the target in flight. Default 64.
	InFlight int
	// RetryMin and RetryMax bound the backoff while the source or the
	// target is unavailable. Defaults 100ms and 5s.
	RetryMin, RetryMax time.Duration
	// OnApplied, if set, is called after each record is applied, with its
	// feed sequence: the checkpoint to persist.
	OnApplied func(seq uint64)
}

func (c Config) withDefaults() Config {
	if c.From == 0 {
		c.From = 1
	}
	if c.InFlight == 0 {
		c.InFlight = 64
	}
	if c.RetryMin == 0 {
		c.RetryMin = 100 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 5 * time.Second
	}
	return c
}

// Validate checks c.
func (c Config) Validate() error {
	var errs []error
	if _, err := item.ParseOrigin(c.Source); err != nil {
		errs = append(errs, fmt.Errorf("cdc: Source: %w", err))
	}
	if _, err := item.ParseOrigin(c.Target); err != nil {
		errs = append(errs, fmt.Errorf("cdc: Target: %w", err))
	}
	if c.Source == c.Target && c.Source != "" {
		errs = append(errs, errors.New("cdc: Source and Target must differ"))
	}
	if c.InFlight < 0 || c.RetryMin < 0 || c.RetryMax < 0 {
		errs = append(errs, errors.New("cdc: InFlight and the retry bounds must not be negative"))
	}
	return errors.Join(errs...)
}

// Stats counts a Replicator's work.
type Stats struct {
	// Records is the number of feed records applied.
	Records uint64
	// Written counts puts and deletes sent to the target.
	Written uint64
	// Skipped counts changes not sent: their origin is the target, or the
	// source already holds a newer version (a later record carries it).
	Skipped uint64
	// Resyncs counts full copies after gaps.
	Resyncs uint64
}

// Replicator copies the changes of one pipeline into another.
type Replicator struct {
	src, dst *client.Client
	cfg      Config

	last                               atomic.Uint64
	records, written, skipped, resyncs atomic.Uint64
}

// New returns a Replicator from src into dst; Run starts it.
func New(src, dst *client.Client, cfg Config) (*Replicator, error) {
	if src == nil || dst == nil {
		return nil, errors.New("cdc: source and target clients are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Replicator{src: src, dst: dst, cfg: cfg.withDefaults()}
	r.last.Store(r.cfg.From - 1)
	return r, nil
}

// Last returns the feed sequence of the last record fully applied.
func (r *Replicator) Last() uint64 { return r.last.Load() }

// Stats returns the counters so far.
func (r *Replicator) Stats() Stats {
	return Stats{Records: r.records.Load(), Written: r.written.Load(), Skipped: r.skipped.Load(), Resyncs: r.resyncs.Load()}
}

// Run replicates until ctx ends (it then returns ctx's error) or a failure
// that retrying cannot fix.
func (r *Replicator) Run(ctx context.Context) error {
	delay := r.cfg.RetryMin
	for {
		err := r.src.FollowCommits(ctx, r.last.Load()+1, func(seq uint64, rec wal.CommitRecord) error {
			if err := r.applyRetrying(ctx, rec); err != nil {
				return err
			}
			r.last.Store(seq)
			r.records.Add(1)
			if r.cfg.OnApplied != nil {
				r.cfg.OnApplied(seq)
			}
			delay = r.cfg.RetryMin
			return nil
		})
		var gap *client.CommitGapError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &gap):
			if err := r.Resync(ctx); err != nil {
				return err
			}
			r.last.Store(gap.Resume - 1)
			continue
		case item.CodeOf(err) != item.CodeUnavailable:
			return err
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, r.cfg.RetryMax)
	}
}

// applyRetrying applies rec, retrying while the source or target is
// unavailable.
func (r *Replicator) applyRetrying(ctx context.Context, rec wal.CommitRecord) error {
	delay := r.cfg.RetryMin
	for {
		err := r.apply(ctx, rec)
		if err == nil || item.CodeOf(err) != item.CodeUnavailable {
			return err
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, r.cfg.RetryMax)
	}
}

// origin is the Sync-Origin a change is replicated with, or "" when it
// must be skipped.
func (r *Replicator) origin(c wal.CommitChange) string {
	switch c.Origin {
	case r.cfg.Target:
		return ""
	case "":
		return r.cfg.Source
	}
	return c.Origin
}

// apply replicates the changes of one record.
func (r *Replicator) apply(ctx context.Context, rec wal.CommitRecord) error {
	var puts []wal.CommitChange
	var minSeq uint64
	p, err := r.dst.NewPipeline(r.cfg.InFlight)
	if err != nil {
		return err
	}
	defer p.Close()
	var futs []*client.Future
	for _, c := range rec.Changes {
		origin := r.origin(c)
		if origin == "" {
			r.skipped.Add(1)
			continue
		}
		if !c.Deleted {
			puts = append(puts, c)
			minSeq = max(minSeq, c.Seq)
			continue
		}
		f, err := p.Delete(ctx, c.ID, client.WithVersion(c.Version), client.WithOrigin(origin))
		if err != nil {
			return err
		}
		futs = append(futs, f)
	}
	if len(puts) > 0 {
		ids := make([]string, len(puts))
		for i, c := range puts {
			ids[i] = c.ID
		}
		got, err := r.src.MGet(ctx, ids, client.WithAfterSeq(minSeq))
		if err != nil {
			return err
		}
		for i, c := range puts {
			g := got[i]
			if g.Err != nil {
				return g.Err
			}
			if !g.Found || g.Item.Version != c.Version {
				r.skipped.Add(1) // deleted or rewritten since: a later record carries it
				continue
			}
			opts := []client.WriteOption{client.WithVersion(c.Version), client.WithOrigin(r.origin(c)),
				client.WithContentType(g.Item.ContentType), client.WithRoute(item.Route(c.Route))}
			if g.Item.State != "" {
				opts = append(opts, client.WithState(g.Item.State))
			}
			if c.CacheTTL > 0 {
				opts = append(opts, client.WithCacheTTL(time.Duration(c.CacheTTL)*time.Second))
			}
			f, err := p.Put(ctx, c.ID, g.Item.Payload, opts...)
			if err != nil {
				return err
			}
			futs = append(futs, f)
		}
	}
	if err := p.Wait(ctx); err != nil {
		return err
	}
	for _, f := range futs {
		if _, err := f.Result(); err != nil {
			return err
		}
		r.written.Add(1)
	}
	return nil
}

// Resync copies every live item of the source into the target at its
// version (with Sync-Origin Config.Source): what a gap in the feed may
// have hidden. Deletions and cache TTLs are not recovered.
func (r *Replicator) Resync(ctx context.Context) error {
	r.resyncs.Add(1)
	p, err := r.dst.NewPipeline(r.cfg.InFlight)
	if err != nil {
		return err
	}
	defer p.Close()
	var futs []*client.Future
	var page []client.ListEntry
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		ids := make([]string, len(page))
		for i, e := range page {
			ids[i] = e.ID
		}
		got, err := r.src.MGet(ctx, ids)
		if err != nil {
			return err
		}
		for i, g := range got {
			if !g.Found {
				continue
			}
			opts := []client.WriteOption{client.WithVersion(g.Item.Version), client.WithOrigin(r.cfg.Source),
				client.WithContentType(g.Item.ContentType), client.WithRoute(item.Route(page[i].Route))}
			if g.Item.State != "" {
				opts = append(opts, client.WithState(g.Item.State))
			}
			f, err := p.Put(ctx, g.Item.ID, g.Item.Payload, opts...)
			if err != nil {
				return err
			}
			futs = append(futs, f)
		}
		page = page[:0]
		return nil
	}
	err = r.src.ListAll(ctx, client.Query{}, client.MaxMGet, func(e client.ListEntry) error {
		page = append(page, e)
		if len(page) == client.MaxMGet {
			return flush()
		}
		return nil
	}, client.WithStrong())
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	if err := p.Wait(ctx); err != nil {
		return err
	}
	for _, f := range futs {
		if _, err := f.Result(); err != nil {
			return err
		}
		r.written.Add(1)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
