package client

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// Pipeline sends puts and deletes without waiting for each reply, keeping at
// most maxInFlight requests outstanding, for bulk loads. Replies come back
// on one inbox subscription; each request's outcome is a Future. A
// Pipeline is safe for concurrent use.
type Pipeline struct {
	c      *Client
	sub    *nats.Subscription
	prefix string
	sem    chan struct{}

	mu      sync.Mutex
	pending map[string]*Future
	next    uint64
	closed  bool
	idle    chan struct{}
}

// Future is the outcome of one pipelined write.
type Future struct {
	done  chan struct{}
	res   Result
	err   error
	timer *time.Timer
	cb    func(Result, error)
}

// Done is closed once the outcome is known.
func (f *Future) Done() <-chan struct{} { return f.done }

// Result waits for and returns the outcome; errors are *item.Error.
func (f *Future) Result() (Result, error) {
	<-f.done
	return f.res, f.err
}

// NewPipeline starts a pipeline with at most maxInFlight requests
// outstanding. Close it when done.
func (c *Client) NewPipeline(maxInFlight int) (*Pipeline, error) {
	if maxInFlight < 1 {
		return nil, errors.New("client: pipeline maxInFlight < 1")
	}
	p := &Pipeline{
		c:       c,
		prefix:  c.nc.NewRespInbox() + ".",
		sem:     make(chan struct{}, maxInFlight),
		pending: make(map[string]*Future, maxInFlight),
	}
	sub, err := c.nc.Subscribe(p.prefix+"*", p.onReply)
	if err != nil {
		return nil, transportError(err)
	}
	_ = sub.SetPendingLimits(-1, -1) // bounded by maxInFlight already
	p.sub = sub
	return p, nil
}

// Put sends a put; it waits (bounded by ctx) while maxInFlight are
// outstanding. The returned error is about sending; the write's outcome is
// the Future's.
func (p *Pipeline) Put(ctx context.Context, id string, payload []byte, opts ...WriteOption) (*Future, error) {
	m, err := p.c.writeMsg(wal.VerbPut, id, payload, opts)
	if err != nil {
		return nil, err
	}
	return p.send(ctx, m, nil)
}

// PutFunc is Put with a callback instead of a Future: done runs once with
// the outcome, on the pipeline's reply goroutine (it must not block). The
// returned error is about sending; then done is not called.
func (p *Pipeline) PutFunc(ctx context.Context, id string, payload []byte, done func(Result, error), opts ...WriteOption) error {
	m, err := p.c.writeMsg(wal.VerbPut, id, payload, opts)
	if err != nil {
		return err
	}
	_, err = p.send(ctx, m, done)
	return err
}

// Delete sends a delete (see Put).
func (p *Pipeline) Delete(ctx context.Context, id string, opts ...WriteOption) (*Future, error) {
	m, err := p.c.writeMsg(wal.VerbDel, id, nil, opts)
	if err != nil {
		return nil, err
	}
	return p.send(ctx, m, nil)
}

func (p *Pipeline) send(ctx context.Context, m *nats.Msg, cb func(Result, error)) (*Future, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, transportError(ctx.Err())
	}
	f := &Future{done: make(chan struct{}), cb: cb}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, transportError(nats.ErrConnectionClosed)
	}
	p.next++
	token := strconv.FormatUint(p.next, 36)
	f.timer = time.AfterFunc(p.c.timeout, func() {
		p.resolve(token, Result{}, transportError(nats.ErrTimeout))
	})
	p.pending[token] = f
	p.mu.Unlock()
	m.Reply = p.prefix + token
	if err := p.c.nc.PublishMsg(m); err != nil {
		p.drop(token, transportError(err))
		return nil, transportError(err)
	}
	return f, nil
}

func (p *Pipeline) onReply(m *nats.Msg) {
	token := m.Subject[len(p.prefix):]
	if err := replyError(m); err != nil {
		p.resolve(token, Result{}, err)
		return
	}
	r, err := decodeResult(m.Data)
	p.resolve(token, r, err)
}

// drop completes token's future with err without its callback: the
// caller learns of the failure from send's error.
func (p *Pipeline) drop(token string, err error) {
	p.mu.Lock()
	f, ok := p.pending[token]
	if ok {
		f.cb = nil
	}
	p.mu.Unlock()
	if ok {
		p.resolve(token, Result{}, err)
	}
}

// resolve completes token's future once; later calls do nothing.
func (p *Pipeline) resolve(token string, r Result, err error) {
	p.mu.Lock()
	f, ok := p.pending[token]
	var cb func(Result, error)
	if ok {
		delete(p.pending, token)
		cb = f.cb
	}
	var idle chan struct{}
	if len(p.pending) == 0 && p.idle != nil {
		idle, p.idle = p.idle, nil
	}
	p.mu.Unlock()
	if idle != nil {
		close(idle)
	}
	if !ok {
		return
	}
	f.timer.Stop()
	f.res, f.err = r, err
	close(f.done)
	<-p.sem
	if cb != nil {
		cb(r, err)
	}
}

// Wait returns once every request sent so far has its outcome, or ctx ends.
func (p *Pipeline) Wait(ctx context.Context) error {
	p.mu.Lock()
	if len(p.pending) == 0 {
		p.mu.Unlock()
		return nil
	}
	if p.idle == nil {
		p.idle = make(chan struct{})
	}
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return transportError(ctx.Err())
	}
}

// Close stops the pipeline: outstanding futures fail as unavailable (their
// writes may still have been stored).
func (p *Pipeline) Close() {
	p.mu.Lock()
	p.closed = true
	tokens := make([]string, 0, len(p.pending))
	for t := range p.pending {
		tokens = append(tokens, t)
	}
	p.mu.Unlock()
	_ = p.sub.Unsubscribe()
	for _, t := range tokens {
		p.resolve(t, Result{}, &item.Error{Code: item.CodeUnavailable, Message: "pipeline closed before the reply", Err: nats.ErrConnectionClosed})
	}
}
