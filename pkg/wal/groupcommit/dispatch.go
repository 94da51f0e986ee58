package groupcommit

import (
	"time"
)

// policy decides when the queued writes become a batch. It is pure (time
// comes in as an argument) so that its boundaries are tested without a
// clock.
type policy struct {
	maxWrites   int
	maxBytes    int
	maxInFlight int
	maxDelay    time.Duration
}

func newPolicy(cfg Config) policy {
	return policy{
		maxWrites:   cfg.MaxBatchWrites,
		maxBytes:    cfg.MaxBatchBytes,
		maxInFlight: cfg.MaxInFlight,
		maxDelay:    cfg.MaxDelay,
	}
}

// queueState is what decide looks at.
type queueState struct {
	n, bytes int       // queued writes and their size
	oldest   time.Time // when the oldest queued write arrived
	inflight int       // groups awaiting their ack
	// expect is how many writes should be queued shortly after the last
	// ack: those queued at that moment plus those the ack released (in a
	// closed loop they come back at once); lastAt is when it came.
	expect int
	lastAt time.Time
}

// decide says whether to cut a group now. If not, wait > 0 is how long
// until it should be asked again (0: only when something changes).
//
// On an idle Committer the queue leaves when it holds the writes expected
// after the last ack, or maxDelay after that ack, whichever is first: the
// writers one ack releases come back within moments, and cutting at the
// first of them would split them (and those already waiting) into a small
// and a large batch, whose fixed costs then repeat. A lone writer expects
// only itself, and a write arriving long after the last ack finds maxDelay
// passed: neither waits. With a group in flight and a slot free, the
// queue leaves when full or when its oldest write has waited maxDelay.
func (p policy) decide(s queueState, now time.Time) (cut bool, wait time.Duration) {
	switch {
	case s.n == 0 || s.inflight >= p.maxInFlight:
		return false, 0
	case s.n >= p.maxWrites || s.bytes >= p.maxBytes:
		return true, 0
	case s.inflight == 0:
		since := now.Sub(s.lastAt)
		if s.n >= s.expect || since >= p.maxDelay {
			return true, 0
		}
		return false, p.maxDelay - since
	}
	age := now.Sub(s.oldest)
	if age >= p.maxDelay {
		return true, 0
	}
	return false, p.maxDelay - age
}

// take returns how many of the queued writes (with their sizes) go into
// the next batch: at least one, at most maxWrites, and no more than
// maxBytes unless the first alone is larger.
func (p policy) take(sizes []int) int {
	total := 0
	for i, s := range sizes {
		if i == p.maxWrites || (i > 0 && total+s > p.maxBytes) {
			return i
		}
		total += s
	}
	return len(sizes)
}

// queue holds the writes waiting for a batch, owned by the dispatcher.
type queue struct {
	writes []*write
	since  []time.Time
	bytes  int
}

func (q *queue) push(w *write, now time.Time) {
	q.writes = append(q.writes, w)
	q.since = append(q.since, now)
	q.bytes += w.size
}

// pop removes the next batch, skipping writes whose caller gave up, and
// marks the rest taken. It may return an empty batch.
func (q *queue) pop(p policy) []*write {
	sizes := make([]int, len(q.writes))
	for i, w := range q.writes {
		sizes[i] = w.size
	}
	n := p.take(sizes)
	batch := make([]*write, 0, n)
	for _, w := range q.writes[:n] {
		q.bytes -= w.size
		if w.state.CompareAndSwap(writeQueued, writeTaken) {
			batch = append(batch, w)
		}
	}
	clear(q.writes[:n])
	q.writes = q.writes[n:]
	q.since = q.since[n:]
	return batch
}

// dispatch is the Committer's one background loop: it collects writes from
// Publish, cuts batches by the policy and hands each to a sender
// goroutine. After Stop it stops taking writes, flushes the queue and
// returns when the last batch is answered.
func (c *Committer) dispatch() {
	defer close(c.done)
	p := newPolicy(c.cfg)
	var (
		q        queue
		inflight int
		expect   int       // see queueState
		lastAt   time.Time // when the last group was answered
		timer    = time.NewTimer(time.Hour)
		armed    bool
		stopping = c.stopping
		draining bool
	)
	timer.Stop()
	defer timer.Stop()
	for {
		for {
			st := queueState{n: len(q.writes), bytes: q.bytes, inflight: inflight, expect: expect, lastAt: lastAt}
			if len(q.since) > 0 {
				st.oldest = q.since[0]
			}
			cut, wait := p.decide(st, c.now())
			if draining && !cut && len(q.writes) > 0 && inflight < p.maxInFlight {
				cut = true // nothing more will come: do not wait for more
			}
			if !cut {
				if armed {
					timer.Stop()
					armed = false
				}
				if wait > 0 {
					timer.Reset(wait)
					armed = true
				}
				break
			}
			batch := q.pop(p)
			if len(batch) == 0 {
				continue
			}
			inflight++
			c.senders.Add(1)
			go func() {
				defer c.senders.Done()
				c.commit(batch)
				c.finished <- len(batch)
			}()
		}
		if draining && len(q.writes) == 0 && inflight == 0 {
			c.senders.Wait()
			return
		}
		in := c.in
		if draining || len(q.writes) >= c.cfg.MaxPending {
			in = nil
		}
		select {
		case w := <-in:
			q.push(w, c.now())
			// Take whatever else is already waiting, so that writes that
			// arrive together leave together.
			for more := true; more && len(q.writes) < c.cfg.MaxPending; {
				select {
				case w := <-in:
					q.push(w, c.now())
				default:
					more = false
				}
			}
		case n := <-c.finished:
			expect, lastAt = len(q.writes)+n, c.now()
			inflight--
		case <-timer.C:
			armed = false
		case <-stopping:
			stopping, draining = nil, true
		}
	}
}
