package system

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/item"
)

// write is one logical write of the load: it is retried until it is
// acknowledged, so that its outcome is always known in the end.
type write struct {
	id      string
	del     bool
	version uint64 // 0: unversioned, the WAL sequence becomes the version
	payload []byte
	ct      string // declared Content-Type; "" = sniffed
	state   string
	msgID   string // Nats-Msg-Id: makes retries of unversioned writes exact
}

// want is what SQL must hold for an id: the last-writer-wins winner of
// every acknowledged write to it.
type want struct {
	version uint64
	deleted bool
	payload []byte
	ct      string
	state   string
}

// wins reports whether a beats b under DESIGN.md §1: the higher version;
// at equal versions a tombstone, then the greater SHA-256(payload).
func (a want) wins(b want) bool {
	if a.version != b.version {
		return a.version > b.version
	}
	if a.deleted != b.deleted {
		return a.deleted
	}
	if a.deleted {
		return false
	}
	sa, sb := sha256.Sum256(a.payload), sha256.Sum256(b.payload)
	return bytes.Compare(sa[:], sb[:]) > 0
}

// ack is one acknowledged write.
type ack struct {
	id      string
	version uint64
	seq     uint64
	deleted bool
	sum     [32]byte // SHA-256 of the payload
}

// ledger records every acknowledged write and the expected final state.
type ledger struct {
	mu         sync.Mutex
	want       map[string]want
	acks       []ack
	errCodes   map[string]int // attempts that failed, by code
	unexpected []string       // samples of answers a valid write must never get
	unacked    []string       // writes given up on
	retryAfter int            // 503s that carried Retry-After
}

func newLedger() *ledger {
	return &ledger{want: map[string]want{}, errCodes: map[string]int{}}
}

// acked records w's acknowledgement r.
func (l *ledger) acked(w write, r client.Result) error {
	v := w.version
	if v == 0 {
		v = r.Version
	}
	if r.ID != w.id || r.Version != v || r.Seq == 0 || (w.version == 0 && r.Version != r.Seq) {
		return fmt.Errorf("reply %+v does not fit write %s v%d", r, w.id, w.version)
	}
	nw := want{version: v, deleted: w.del, state: w.state}
	if !w.del {
		ct, err := item.ResolveContentType(w.ct, w.payload)
		if err != nil {
			return fmt.Errorf("acknowledged write %s has an invalid content type: %v", w.id, err)
		}
		nw.payload, nw.ct = w.payload, ct
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.want[w.id]; !ok || nw.wins(cur) {
		l.want[w.id] = nw
	}
	l.acks = append(l.acks, ack{id: w.id, version: v, seq: r.Seq, deleted: w.del, sum: sha256.Sum256(w.payload)})
	return nil
}

// failed records an attempt's error and returns how long to wait before
// the retry.
func (l *ledger) failed(w write, err error) time.Duration {
	var ie *item.Error
	if !errors.As(err, &ie) {
		ie = &item.Error{Code: "non_item_error", Message: err.Error()}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errCodes[string(ie.Code)]++
	if ie.Code == item.CodeUnavailable {
		delay := 100 * time.Millisecond
		if ie.RetryAfterSeconds > 0 {
			l.retryAfter++
			// Honour Retry-After, capped so that a test stays short.
			delay = min(time.Duration(ie.RetryAfterSeconds)*time.Second, 2*time.Second)
		}
		return delay/2 + rand.N(delay/2+1)
	}
	if len(l.unexpected) < 20 {
		l.unexpected = append(l.unexpected, fmt.Sprintf("%s: %v", w.id, err))
	}
	// A valid write must never be refused; retrying keeps its outcome
	// known, the refusal is reported by check.
	return 500 * time.Millisecond
}

// counts returns the acknowledged writes and the failure tallies.
func (l *ledger) counts() (acked int, codes map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	codes = make(map[string]int, len(l.errCodes))
	for k, v := range l.errCodes {
		codes[k] = v
	}
	return len(l.acks), codes
}

// check fails t for every answer a valid write must never get.
func (l *ledger) check(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.unexpected) > 0 {
		t.Errorf("valid writes were refused (first %d): %v", len(l.unexpected), l.unexpected)
	}
	if len(l.unacked) > 0 {
		t.Errorf("%d writes were never acknowledged, e.g. %v", len(l.unacked), l.unacked[:min(5, len(l.unacked))])
	}
}

// send issues w until it is acknowledged, or abort is closed (then the
// write is recorded as never acknowledged, which fails check).
func send(cl *client.Client, l *ledger, w write, abort <-chan struct{}) bool {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var r client.Result
		var err error
		opts := writeOptions(w)
		if w.del {
			r, err = cl.Delete(ctx, w.id, opts...)
		} else {
			r, err = cl.Put(ctx, w.id, w.payload, opts...)
		}
		cancel()
		if err == nil {
			if aerr := l.acked(w, r); aerr != nil {
				l.mu.Lock()
				l.unexpected = append(l.unexpected, aerr.Error())
				l.mu.Unlock()
			}
			return true
		}
		delay := l.failed(w, err)
		select {
		case <-abort:
			l.mu.Lock()
			l.unacked = append(l.unacked, fmt.Sprintf("%s: %v", w.id, err))
			l.mu.Unlock()
			return false
		case <-time.After(delay):
		}
	}
}

func writeOptions(w write) []client.WriteOption {
	var opts []client.WriteOption
	if w.version != 0 {
		opts = append(opts, client.WithVersion(w.version))
	}
	if w.ct != "" {
		opts = append(opts, client.WithContentType(w.ct))
	}
	if w.state != "" {
		opts = append(opts, client.WithState(w.state))
	}
	if w.msgID != "" {
		opts = append(opts, client.WithMsgID(w.msgID))
	}
	return opts
}

// load drives writes at a paced rate from several workers: a mix of
// versioned puts of fresh ids, unversioned puts with Nats-Msg-Id, and
// puts and deletes of a few hot ids that every worker writes (so that
// delivery order matters and only last-writer-wins decides).
type load struct {
	c        *cluster
	l        *ledger
	ns       string
	versions *atomic.Uint64
	stop     chan struct{} // no new writes
	abort    chan struct{} // give up retrying
	wg       sync.WaitGroup
	start    time.Time
	issued   atomic.Int64
}

// startLoad starts workers writing about rate puts per second in total.
func startLoad(c *cluster, l *ledger, workers, rate int) *load {
	g := &load{c: c, l: l, ns: "load", versions: new(atomic.Uint64), stop: make(chan struct{}),
		abort: make(chan struct{}), start: time.Now()}
	interval := time.Duration(float64(time.Second) * float64(workers) / float64(rate))
	for w := range workers {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.worker(w, interval)
		}()
	}
	return g
}

func (g *load) worker(w int, interval time.Duration) {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	next := time.Now()
	for i := 0; ; i++ {
		select {
		case <-g.stop:
			return
		default:
		}
		if d := time.Until(next); d > 0 {
			select {
			case <-g.stop:
				return
			case <-time.After(d):
			}
		}
		next = next.Add(interval)
		if time.Until(next) < -time.Second {
			next = time.Now() // do not burst to catch up after a stall
		}
		g.issued.Add(1)
		send(g.c.cl, g.l, g.next(rng, w, i), g.abort)
	}
}

// next builds the i-th write of worker w.
func (g *load) next(rng *rand.Rand, w, i int) write {
	switch r := i % 20; {
	case r < 12: // a fresh id, explicit version, JSON (sniffed)
		return write{
			id:      fmt.Sprintf("%s.w%d.b%d.i%d", g.ns, w, i%7, i),
			version: g.versions.Add(1),
			payload: fmt.Appendf(nil, `{"w":%d,"i":%d,"r":%d}`, w, i, rng.Uint32()),
		}
	case r < 15: // a fresh id, unversioned, binary with a state tag
		return write{
			id:      fmt.Sprintf("%s.u.w%d.i%d", g.ns, w, i),
			payload: randBytes(rng, 16+rng.IntN(200)),
			state:   "st-" + strconv.Itoa(w%3),
			msgID:   fmt.Sprintf("%s-%s-%d-%d", g.c.prefix, g.ns, w, i),
		}
	case r < 19: // a hot id shared by all workers
		return write{
			id:      fmt.Sprintf("%s.hot.h%d", g.ns, rng.IntN(64)),
			version: g.versions.Add(1),
			payload: randBytes(rng, 32+rng.IntN(64)),
			ct:      item.ContentTypeBinary,
		}
	default: // a delete of a hot id
		return write{id: fmt.Sprintf("%s.hot.h%d", g.ns, rng.IntN(64)), del: true, version: g.versions.Add(1)}
	}
}

// finish stops issuing new writes and waits, at most drain, for the writes
// in flight to be acknowledged; it returns when the last one was.
func (g *load) finish(drain time.Duration) time.Time {
	close(g.stop)
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drain):
		close(g.abort)
		<-done
	}
	return time.Now()
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// acksBy returns the number of acknowledged writes so far.
func acksBy(l *ledger) int {
	n, _ := l.counts()
	return n
}
