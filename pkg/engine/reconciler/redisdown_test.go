package reconciler

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
)

// cutProxy forwards TCP to the real Redis and can cut every connection and
// refuse new ones, as a network partition or a Redis restart would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.set(true)
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c, u)
		p.wg.Add(2)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
		}
		go pipe(c, u)
		go pipe(u, c)
	}
}

func (p *cutProxy) set(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
	}
}

func TestRedisDownKeepsRunningAndRepairsOnReturn(t *testing.T) {
	t.Parallel()
	_, prefix := redistest.Client(t)
	opts, err := redis.ParseURL(redistest.URL())
	require.NoError(t, err)
	proxy := newCutProxy(t, opts.Addr)
	client := redis.NewClient(&redis.Options{Addr: proxy.ln.Addr().String(), DB: opts.DB, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	cache, err := rediscache.New(client, rediscache.Config{Prefix: prefix, Tree: merkle.DefaultConfig})
	require.NoError(t, err)

	p := newPipeline(t)
	p.cache = cache
	fill(t, p.sql, "d", 100)
	r := p.start("a", Config{})
	waitFor(t, "running", 10*time.Second, func() bool { return r.Status().State == lifecycle.Running })
	waitFor(t, "in sync", 5*time.Second, func() bool { return r.Status().InSync })

	proxy.set(true)
	p.commit((&writes{}).put("d.new", 1, "n").del("d.0000005", 3))
	waitFor(t, "redis marked unavailable", 5*time.Second, func() bool { return !r.Status().RedisAvailable })
	require.Equal(t, 0.0, r.metric(t, "syncline_reconciler_redis_available"))
	require.Equal(t, 0.0, r.metric(t, "syncline_reconciler_roots_in_sync"))
	require.Equal(t, lifecycle.Running, r.Status().State, "keeps running")
	waitFor(t, "filter follows the feed without redis", 5*time.Second, func() bool {
		present, trusted := r.MayContain("d.new")
		return present && trusted
	})

	proxy.set(false)
	waitFor(t, "repaired on return", 10*time.Second, func() bool {
		st := r.Status()
		return st.RedisAvailable && st.InSync
	})
	e, ok, err := cache.Get(context.Background(), "d.new")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "n", string(e.Payload))
	require.True(t, p.inSync())
}
