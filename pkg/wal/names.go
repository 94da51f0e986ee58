package wal

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultPrefix is the subject prefix when none is configured.
const DefaultPrefix = "sync"

// DefaultPartitions is the number of WAL subjects ids are spread over.
const DefaultPartitions = 16

// ConsumerName is the durable pull consumer the writers share.
const ConsumerName = "writers"

// MaxPrefixLen bounds the prefix so that every derived name stays short.
const MaxPrefixLen = 32

// The client API verbs; each is served on <prefix>.<verb>.<id>.
const (
	VerbPut    = "put"
	VerbDel    = "del"
	VerbGet    = "get"
	VerbExists = "exists"
)

// Names derives every subject, stream, bucket and consumer name of one
// pipeline from its prefix (DESIGN.md §2, §5), so that two pipelines with
// different prefixes share a NATS account without colliding.
//
// The zero value is not usable; build one with NewNames or Config.Names.
type Names struct {
	prefix     string
	upper      string
	partitions int
}

// NewNames returns the names for prefix and the partition count. It panics
// on an invalid prefix or a partition count below 1: both are validated by
// Config.Validate, and a bad name here is a programming error.
func NewNames(prefix string, partitions int) Names {
	if err := ValidatePrefix(prefix); err != nil {
		panic(err)
	}
	if partitions < 1 {
		panic(fmt.Sprintf("wal: partitions %d < 1", partitions))
	}
	return Names{prefix: prefix, upper: strings.ToUpper(prefix), partitions: partitions}
}

// ValidatePrefix checks a subject prefix: 1..32 characters of
// [A-Za-z0-9_-]. The prefix is a single subject token and, upper-cased, the
// first part of stream and bucket names, which allow no dots.
func ValidatePrefix(p string) error {
	if p == "" || len(p) > MaxPrefixLen {
		return fmt.Errorf("wal: prefix %q must be 1..%d characters", p, MaxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("wal: prefix %q has %q outside [A-Za-z0-9_-]", p, c)
		}
	}
	return nil
}

// Prefix returns the subject prefix ("sync").
func (n Names) Prefix() string { return n.prefix }

// Partitions returns the number of WAL partitions.
func (n Names) Partitions() int { return n.partitions }

// WALStream is the write-ahead log stream ("SYNC_WAL").
func (n Names) WALStream() string { return n.upper + "_WAL" }

// WALSubjects is the WAL stream's subject filter ("sync.wal.*").
func (n Names) WALSubjects() string { return n.prefix + ".wal.*" }

// WALSubject is the subject of partition p ("sync.wal.3").
func (n Names) WALSubject(p int) string { return n.prefix + ".wal." + strconv.Itoa(p) }

// WALSubjectFor is the subject the write of id goes to.
func (n Names) WALSubjectFor(id string) string { return n.WALSubject(Partition(id, n.partitions)) }

// DLQStream is the dead-letter stream ("SYNC_DLQ").
func (n Names) DLQStream() string { return n.upper + "_DLQ" }

// DLQSubjects is the DLQ stream's subject filter ("sync.dlq.*").
func (n Names) DLQSubjects() string { return n.prefix + ".dlq.*" }

// DLQSubject is the subject of a dead letter with reason ("sync.dlq.invalid_id").
// A reason that is not a plain token is sanitised (see SanitizeReason).
func (n Names) DLQSubject(reason string) string { return n.prefix + ".dlq." + SanitizeReason(reason) }

// CommitsStream is the commit feed stream ("SYNC_COMMITS").
func (n Names) CommitsStream() string { return n.upper + "_COMMITS" }

// CommitsSubject is the commit feed subject ("sync.commits").
func (n Names) CommitsSubject() string { return n.prefix + ".commits" }

// FiltersBucket is the object store of filter snapshots ("SYNC_FILTERS").
func (n Names) FiltersBucket() string { return n.upper + "_FILTERS" }

// LeasesBucket is the KV bucket of leader leases ("SYNC_LEASES").
func (n Names) LeasesBucket() string { return n.upper + "_LEASES" }

// Consumer is the writers' durable consumer on the WAL ("writers").
func (n Names) Consumer() string { return ConsumerName }

// APISubject is the client API subject of verb for id ("sync.put.a.b").
func (n Names) APISubject(verb, id string) string { return n.prefix + "." + verb + "." + id }

// APIPrefix is what precedes the id in a client API subject ("sync.put.").
func (n Names) APIPrefix(verb string) string { return n.prefix + "." + verb + "." }

// ServiceName is the micro service name of ingest.
const ServiceName = "syncline"

// Partition maps id to its WAL partition: FNV-1a-32(id) mod partitions.
func Partition(id string, partitions int) int {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= prime32
	}
	return int(h % uint32(partitions))
}

// SanitizeReason turns a DLQ reason into one subject token of
// [a-z0-9_-]: other bytes become '_', the empty reason is "unknown", and
// the token is at most 64 bytes.
func SanitizeReason(reason string) string {
	if reason == "" {
		return "unknown"
	}
	if len(reason) > 64 {
		reason = reason[:64]
	}
	b := []byte(reason)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		default:
			b[i] = '_'
		}
	}
	return string(b)
}
