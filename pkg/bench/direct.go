package bench

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
)

// walPutter publishes straight into the WAL, one plain message per write.
type walPutter struct{ p *wal.Publisher }

func newWALPutter(nc *nats.Conn, names wal.Names, inflight int) (walPutter, func(), error) {
	p, err := wal.NewPublisher(nc, wal.Config{Prefix: names.Prefix(), Partitions: names.Partitions(),
		PublishMaxPending: inflight, PublishStallWait: time.Minute, PublishTimeout: time.Minute})
	if err != nil {
		return walPutter{}, nil, err
	}
	return walPutter{p}, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	}, nil
}

func (wp walPutter) put(_ context.Context, id string, payload []byte, done func(error)) error {
	return wp.p.PublishAsync(putWrite(id, payload), func(_ wal.Ack, err error) { done(err) })
}

func (wp walPutter) wait(ctx context.Context) error { return wp.p.Close(ctx) }

// groupPutter publishes straight into the WAL through a group committer:
// concurrent writes leave as JetStream atomic batches, as ingest sends
// them with fsync or replicated durability.
type groupPutter struct {
	c     *groupcommit.Committer
	names wal.Names
	slots chan struct{} // one per write in flight
	wg    sync.WaitGroup
}

func newGroupPutter(ctx context.Context, nc *nats.Conn, names wal.Names, inflight int) (*groupPutter, func(), error) {
	c, err := groupcommit.New(nc, groupcommit.Config{Stream: names.WALStream(), Durability: groupcommit.DurabilityFsync}, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, nil, err
	}
	g := &groupPutter{c: c, names: names, slots: make(chan struct{}, inflight)}
	return g, func() {
		g.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	}, nil
}

func (g *groupPutter) put(ctx context.Context, id string, payload []byte, done func(error)) error {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	m := putWrite(id, payload).Encode(g.names)
	g.wg.Go(func() {
		defer func() { <-g.slots }()
		_, err := g.c.Publish(ctx, m)
		done(err)
	})
	return nil
}

func (g *groupPutter) wait(context.Context) error {
	g.wg.Wait()
	return nil
}

func putWrite(id string, payload []byte) wal.Write {
	return wal.Write{ID: id, Op: wal.OpPut, Payload: payload, ContentType: item.ContentTypeBinary}
}
