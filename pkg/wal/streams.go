package wal

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// WALStreamConfig is the declarative definition of the WAL stream: file
// storage, limits with DiscardNew (a full WAL refuses writes instead of
// dropping old ones), the de-duplication window, and atomic batch publish
// when the server supports it (2.12+).
func WALStreamConfig(c Config, atomic bool) jetstream.StreamConfig {
	c = c.WithDefaults()
	n := c.Names()
	return jetstream.StreamConfig{
		Name:               n.WALStream(),
		Description:        "Syncline write-ahead log",
		Subjects:           []string{n.WALSubjects()},
		Retention:          jetstream.LimitsPolicy,
		Storage:            jetstream.FileStorage,
		Discard:            jetstream.DiscardNew,
		Replicas:           c.Replicas,
		MaxMsgs:            c.MaxMsgs,
		MaxBytes:           c.MaxBytes,
		MaxMsgSize:         int32(c.MaxPayload + HeaderAllowance),
		Duplicates:         c.DuplicateWindow,
		AllowAtomicPublish: atomic,
		AllowDirect:        true,
	}
}

// DLQStreamConfig defines the dead-letter stream, limited by age.
func DLQStreamConfig(c Config) jetstream.StreamConfig {
	c = c.WithDefaults()
	n := c.Names()
	return jetstream.StreamConfig{
		Name:        n.DLQStream(),
		Description: "Syncline dead letters: invalid WAL messages, with their reason",
		Subjects:    []string{n.DLQSubjects()},
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
		MaxAge:      c.DLQMaxAge,
		MaxMsgSize:  int32(c.MaxPayload + 2*HeaderAllowance),
		Duplicates:  c.DuplicateWindow,
	}
}

// CommitsStreamConfig defines the commit feed, limited by age.
func CommitsStreamConfig(c Config) jetstream.StreamConfig {
	c = c.WithDefaults()
	n := c.Names()
	return jetstream.StreamConfig{
		Name:        n.CommitsStream(),
		Description: "Syncline commit feed: one record per SQL commit",
		Subjects:    []string{n.CommitsSubject()},
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
		MaxAge:      c.CommitsMaxAge,
		AllowDirect: true,
	}
}

// WritersConsumerConfig defines the writers' durable pull consumer:
// explicit acks (sent after the SQL commit), AckWait, MaxDeliver,
// MaxAckPending and the optional BackOff.
func WritersConsumerConfig(c Config) jetstream.ConsumerConfig {
	c = c.WithDefaults()
	return jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "Syncline writers: WAL -> SQL",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    c.MaxDeliver,
		MaxAckPending: c.MaxAckPending,
		BackOff:       c.BackOff,
		ReplayPolicy:  jetstream.ReplayInstantPolicy,
		Replicas:      c.Replicas,
	}
}

// Provision creates or updates, idempotently, every JetStream asset of the
// pipeline: the WAL, DLQ and COMMITS streams, the writers consumer, the
// FILTERS object store and the LEASES KV bucket.
func Provision(ctx context.Context, js jetstream.JetStream, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c = c.WithDefaults()
	atomic := SupportsAtomicPublish(js.Conn().ConnectedServerVersion())
	for _, sc := range []jetstream.StreamConfig{WALStreamConfig(c, atomic), DLQStreamConfig(c), CommitsStreamConfig(c)} {
		if err := ensureStream(ctx, js, sc); err != nil {
			return errNotEnsured("stream", sc.Name, err)
		}
	}
	if err := ensureConsumer(ctx, js, c.Names().WALStream(), WritersConsumerConfig(c)); err != nil {
		return errNotEnsured("consumer", ConsumerName, err)
	}
	if _, err := ProvisionFilters(ctx, js, c); err != nil {
		return err
	}
	if _, err := ProvisionLeases(ctx, js, c); err != nil {
		return err
	}
	return nil
}

// ProvisionFilters creates or updates the FILTERS object store.
func ProvisionFilters(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.ObjectStore, error) {
	c = c.WithDefaults()
	if s, err := js.Stream(ctx, "OBJ_"+c.Names().FiltersBucket()); err == nil && s.CachedInfo().Config.Replicas == c.Replicas {
		if os, err := js.ObjectStore(ctx, c.Names().FiltersBucket()); err == nil {
			return os, nil // already as wanted: no update (see ensure.go)
		}
	}
	os, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      c.Names().FiltersBucket(),
		Description: "Syncline cuckoo filter snapshots",
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("wal: provision object store %s: %w", c.Names().FiltersBucket(), err)
	}
	return os, nil
}

// ProvisionLeases creates or updates the LEASES KV bucket, whose keys
// expire after LeaseTTL unless renewed.
func ProvisionLeases(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.KeyValue, error) {
	c = c.WithDefaults()
	if s, err := js.Stream(ctx, "KV_"+c.Names().LeasesBucket()); err == nil {
		if sc := s.CachedInfo().Config; sc.Replicas == c.Replicas && sc.MaxAge == c.LeaseTTL {
			if kv, err := js.KeyValue(ctx, c.Names().LeasesBucket()); err == nil {
				return kv, nil // already as wanted: no update (see ensure.go)
			}
		}
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      c.Names().LeasesBucket(),
		Description: "Syncline leader leases",
		History:     1,
		TTL:         c.LeaseTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("wal: provision kv %s: %w", c.Names().LeasesBucket(), err)
	}
	return kv, nil
}

// SupportsAtomicPublish reports whether a server of version v ("2.12.1")
// supports atomic batch publish (2.12 and later).
func SupportsAtomicPublish(v string) bool {
	v = strings.TrimPrefix(v, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return major > 2 || major == 2 && minor >= 12
}
