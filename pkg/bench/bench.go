// Package bench is the load generator behind `syncline bench`: it puts
// items through the client API at a fixed or maximal rate, and measures
// acknowledged puts per second, ack latency percentiles, and the time from
// acknowledgement until each write is visible in SQL (its commit record on
// the commit feed, published right after the SQL commit) and in Redis
// (polled for a sample of ids).
//
// With Config.Direct the writes bypass ingest and go straight into the WAL
// stream (a trusted producer's path), to measure the stages behind it.
//
// Latencies of a paced run are measured from each write's scheduled send
// time, not from when it was actually sent, so a stalled pipeline cannot
// hide its queueing (no coordinated omission).
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/schollz/progressbar/v3"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// Config describes one run.
type Config struct {
	// N is the number of puts. Default 100000.
	N int
	// Concurrency is the number of puts in flight. Default 256.
	Concurrency int
	// PayloadSize is the payload size in bytes. Default 1024.
	PayloadSize int
	// Tenants spreads ids as tenant.<t>.orders.<uuid>. Default 10.
	Tenants int
	// Rate is the offered load in puts/s; 0 = as fast as acks come back.
	Rate float64
	// VisibleTimeout bounds the wait for visibility after the last ack.
	// Default 60s.
	VisibleTimeout time.Duration
	// Redis, when set, is polled for a sample of ids (every RedisSample-th,
	// default 50) under RedisPrefix (default "sync:").
	Redis       redis.UniversalClient
	RedisPrefix string
	RedisSample int
	// Progress receives a progress bar; nil for none.
	Progress io.Writer
	// Direct publishes the writes straight into the WAL stream with
	// asynchronous JetStream publishes, as a trusted producer may
	// (DESIGN.md §2), instead of putting them through ingest: "acks" are
	// then the stream's, and the run measures the writers and the
	// reconciler with the front door out of the way.
	Direct bool
	// GroupCommit, with Direct, publishes in group-committed atomic
	// batches (pkg/wal/groupcommit, fsync durability), as ingest does on a
	// server that syncs before every ack, instead of one plain message per
	// write.
	GroupCommit bool
}

func (c Config) withDefaults() Config {
	if c.N == 0 {
		c.N = 100000
	}
	if c.Concurrency == 0 {
		c.Concurrency = 256
	}
	if c.PayloadSize == 0 {
		c.PayloadSize = 1024
	}
	if c.Tenants == 0 {
		c.Tenants = 10
	}
	if c.VisibleTimeout == 0 {
		c.VisibleTimeout = 60 * time.Second
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = "sync:"
	}
	if c.RedisSample == 0 {
		c.RedisSample = 50
	}
	return c
}

// Validate checks the config.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.N < 1 || c.Concurrency < 1 || c.PayloadSize < 0 || c.Tenants < 1 || c.Rate < 0 {
		return errors.New("bench: n, concurrency and tenants must be positive; size and rate not negative")
	}
	return nil
}

// Report is the outcome of a run.
type Report struct {
	Writes       int            `json:"writes"`
	Acked        int            `json:"acked"`
	Errors       map[string]int `json:"errors,omitempty"`
	OfferedRate  float64        `json:"offered_rate"`
	Seconds      float64        `json:"seconds"`
	Throughput   float64        `json:"acks_per_second"`
	Ack          Percentiles    `json:"ack_latency_ms"`
	SQLVisible   Percentiles    `json:"sql_visible_ms"`
	SQLSeen      int            `json:"sql_seen"`
	SQLRowsPerS  float64        `json:"sql_rows_per_second"`
	RedisVisible *Percentiles   `json:"redis_visible_ms,omitempty"`
	RedisSeen    int            `json:"redis_seen,omitempty"`
	RedisSampled int            `json:"redis_sampled,omitempty"`
}

// write is one put's timeline.
type write struct {
	id        string
	scheduled time.Time
	acked     time.Time
	ok        bool
	failed    bool // the put was refused
	sqlAt     time.Time
	redisAt   time.Time
}

// Run performs one run against the pipeline reachable through nc.
func Run(ctx context.Context, nc *nats.Conn, names wal.Names, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	cfg = cfg.withDefaults()
	c, err := client.New(nc, client.WithPrefix(names.Prefix()), client.WithPartitions(names.Partitions()))
	if err != nil {
		return Report{}, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return Report{}, fmt.Errorf("bench: %w", err)
	}
	r := &run{cfg: cfg, writes: make([]write, cfg.N), byID: make(map[string]int, cfg.N), errs: map[string]int{}}
	for i := range r.writes {
		r.writes[i].id = NewID(i % cfg.Tenants)
		r.byID[r.writes[i].id] = i
	}
	follower, err := r.followCommits(ctx, js, names)
	if err != nil {
		return Report{}, err
	}
	defer follower.Stop()
	rctx, stopRedis := context.WithCancel(ctx)
	redisDone := make(chan struct{})
	go func() {
		defer close(redisDone)
		r.pollRedis(rctx)
	}()
	defer func() {
		stopRedis()
		<-redisDone
	}()

	p, closeP, err := r.newPutter(ctx, c, nc, names)
	if err != nil {
		return Report{}, err
	}
	defer closeP()
	start := time.Now()
	if err := r.send(ctx, p, start); err != nil {
		return Report{}, err
	}
	acksDone := time.Now()
	r.waitVisible(ctx, acksDone)
	return r.report(start, acksDone), nil
}

type run struct {
	cfg    Config
	writes []write
	byID   map[string]int // read-only after construction

	mu   sync.Mutex // guards writes' timestamps and errs
	errs map[string]int
}

// NewID returns a fresh id tenant.<tenant>.orders.<uuid>, the uuid being
// 128 random bits in the 8-4-4-4-12 hex form: the ids the load generator
// writes.
func NewID(tenant int) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("tenant.%d.orders.%s-%s-%s-%s-%s", tenant, h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// putter sends one write and calls done with its outcome, once, unless it
// returns an error itself.
type putter interface {
	put(ctx context.Context, id string, payload []byte, done func(error)) error
	wait(ctx context.Context) error
}

// ingestPutter puts through the client API (ingest).
type ingestPutter struct{ p *client.Pipeline }

func (ip ingestPutter) put(ctx context.Context, id string, payload []byte, done func(error)) error {
	return ip.p.PutFunc(ctx, id, payload, func(_ client.Result, err error) { done(err) }, client.WithContentType(item.ContentTypeBinary))
}

func (ip ingestPutter) wait(ctx context.Context) error { return ip.p.Wait(ctx) }

// newPutter returns the putter of the run's mode.
func (r *run) newPutter(ctx context.Context, c *client.Client, nc *nats.Conn, names wal.Names) (putter, func(), error) {
	switch {
	case r.cfg.Direct && r.cfg.GroupCommit:
		return newGroupPutter(ctx, nc, names, r.cfg.Concurrency)
	case r.cfg.Direct:
		return newWALPutter(nc, names, r.cfg.Concurrency)
	}
	p, err := c.NewPipeline(r.cfg.Concurrency)
	if err != nil {
		return nil, nil, err
	}
	return ingestPutter{p}, p.Close, nil
}

// send puts every write, paced when Rate > 0.
func (r *run) send(ctx context.Context, p putter, start time.Time) error {
	var bar *progressbar.ProgressBar
	if r.cfg.Progress != nil {
		bar = progressbar.NewOptions(r.cfg.N,
			progressbar.OptionSetWriter(r.cfg.Progress),
			progressbar.OptionSetDescription("puts"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("puts"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		defer func() { _ = bar.Finish() }()
	}
	payload := make([]byte, r.cfg.PayloadSize)
	_, _ = rand.Read(payload)
	for i := range r.writes {
		sched := time.Now()
		if r.cfg.Rate > 0 {
			sched = start.Add(time.Duration(float64(i) / r.cfg.Rate * float64(time.Second)))
			if d := time.Until(sched); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
		}
		r.writes[i].scheduled = sched
		i := i
		err := p.put(ctx, r.writes[i].id, payload, func(err error) {
			now := time.Now()
			r.mu.Lock()
			if err != nil {
				r.errs[string(item.CodeOf(err))]++
				r.writes[i].failed = true
			} else {
				r.writes[i].acked, r.writes[i].ok = now, true
			}
			r.mu.Unlock()
			if bar != nil {
				_ = bar.Add(1)
			}
		})
		if err != nil {
			r.mu.Lock()
			r.errs[string(item.CodeOf(err))]++
			r.writes[i].failed = true
			r.mu.Unlock()
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return p.wait(ctx)
}

// followCommits records when each id's commit record arrives.
func (r *run) followCommits(ctx context.Context, js jetstream.JetStream, names wal.Names) (*wal.CommitFollower, error) {
	s, err := js.Stream(ctx, names.CommitsStream())
	if err != nil {
		return nil, fmt.Errorf("bench: commit feed: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: commit feed: %w", err)
	}
	return wal.FollowCommits(ctx, js, names, info.State.LastSeq+1, wal.FollowHandlers{
		OnRecord: func(_ uint64, rec wal.CommitRecord) {
			now := time.Now()
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, ch := range rec.Changes {
				if i, ok := r.byID[ch.ID]; ok && r.writes[i].sqlAt.IsZero() {
					r.writes[i].sqlAt = now
				}
			}
		},
		OnGap: func(wal.Gap) {},
	})
}

// Redis polling: each tick, the oldest redisWindow sampled writes that are
// acknowledged but not yet seen are checked with one pipeline of HEXISTS.
// Writes become visible roughly in ack order, so the oldest unseen ones are
// the ones about to appear, and each is found within about a tick of its
// arrival; the poller adds at most redisWindow/redisTick (12,800) cheap
// commands per second to Redis, which it shares with the pipeline under
// test. (Polling every unseen id each tick saturated Redis as soon as the
// pipeline fell behind, and slowed the very writes it was timing.)
const (
	redisTick   = 5 * time.Millisecond
	redisWindow = 64
)

// pollRedis checks a sample of acknowledged ids until they appear.
func (r *run) pollRedis(ctx context.Context) {
	if r.cfg.Redis == nil {
		return
	}
	tick := time.NewTicker(redisTick)
	defer tick.Stop()
	sample := r.cfg.RedisSample
	// Every sampled write before next is seen (or failed); writes past
	// maxScan sampled entries beyond it are not looked at in a tick.
	next := 0
	maxScan := redisWindow + r.cfg.Concurrency/sample + 64
	idx := make([]int, 0, redisWindow)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		idx = idx[:0]
		r.mu.Lock()
		for next < len(r.writes) && (!r.writes[next].redisAt.IsZero() || r.writes[next].failed) {
			next += sample
		}
		for i, scanned := next, 0; i < len(r.writes) && scanned < maxScan && len(idx) < redisWindow; i, scanned = i+sample, scanned+1 {
			if w := &r.writes[i]; w.ok && w.redisAt.IsZero() {
				idx = append(idx, i)
			}
		}
		r.mu.Unlock()
		if len(idx) == 0 {
			continue
		}
		pipe := r.cfg.Redis.Pipeline()
		cmds := make([]*redis.BoolCmd, len(idx))
		for k, i := range idx {
			cmds[k] = pipe.HExists(ctx, r.cfg.RedisPrefix+"item:"+r.writes[i].id, "version")
		}
		_, _ = pipe.Exec(ctx)
		now := time.Now()
		r.mu.Lock()
		for k, i := range idx {
			if ok, err := cmds[k].Result(); err == nil && ok {
				r.writes[i].redisAt = now
			}
		}
		r.mu.Unlock()
	}
}

// waitVisible waits until every acked write was seen in SQL (and the
// sampled ones in Redis), or the timeout.
func (r *run) waitVisible(ctx context.Context, from time.Time) {
	deadline := from.Add(r.cfg.VisibleTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		done := true
		r.mu.Lock()
		for i := range r.writes {
			w := &r.writes[i]
			if !w.ok {
				continue
			}
			if w.sqlAt.IsZero() || (r.cfg.Redis != nil && i%r.cfg.RedisSample == 0 && w.redisAt.IsZero()) {
				done = false
				break
			}
		}
		r.mu.Unlock()
		if done {
			return
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}
