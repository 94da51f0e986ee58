package reconciler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/cuckoo"
	"github.com/syncline/syncline/pkg/merkle"
)

// Filter snapshot object and its metadata keys in the FILTERS object store
// (DESIGN.md §2). The values are decimal, the root 64 lowercase hex digits.
const (
	SnapshotObject = "ids"
	MetaRoot       = "root"
	MetaEntries    = "entries"
	MetaSeq        = "seq"
)

// SnapshotMeta is what a snapshot's metadata says it reflects.
type SnapshotMeta struct {
	Root    merkle.Hash
	Entries uint64
	Seq     uint64
}

func (m SnapshotMeta) encode() map[string]string {
	return map[string]string{
		MetaRoot:    m.Root.String(),
		MetaEntries: strconv.FormatUint(m.Entries, 10),
		MetaSeq:     strconv.FormatUint(m.Seq, 10),
	}
}

// ParseSnapshotMeta reads an object's metadata.
func ParseSnapshotMeta(md map[string]string) (SnapshotMeta, error) {
	var m SnapshotMeta
	var err error
	if m.Root, err = merkle.ParseHash(md[MetaRoot]); err != nil {
		return m, fmt.Errorf("reconciler: snapshot metadata %s: %w", MetaRoot, err)
	}
	if m.Entries, err = strconv.ParseUint(md[MetaEntries], 10, 64); err != nil {
		return m, fmt.Errorf("reconciler: snapshot metadata %s: %w", MetaEntries, err)
	}
	if m.Seq, err = strconv.ParseUint(md[MetaSeq], 10, 64); err != nil {
		return m, fmt.Errorf("reconciler: snapshot metadata %s: %w", MetaSeq, err)
	}
	return m, nil
}

// errNoSnapshot: the bucket holds no usable snapshot.
var errNoSnapshot = errors.New("reconciler: no filter snapshot")

// loadSnapshot reads the latest snapshot if its metadata root equals root.
// It returns errNoSnapshot (wrapped, with the reason) when there is none or
// it does not match; the caller then rebuilds from SQL.
func loadSnapshot(ctx context.Context, os jetstream.ObjectStore, root merkle.Hash) (*cuckoo.Filter, SnapshotMeta, error) {
	info, err := os.GetInfo(ctx, SnapshotObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, SnapshotMeta{}, fmt.Errorf("%w: bucket is empty", errNoSnapshot)
	}
	if err != nil {
		return nil, SnapshotMeta{}, fmt.Errorf("reconciler: snapshot info: %w", err)
	}
	meta, err := ParseSnapshotMeta(info.Metadata)
	if err != nil {
		return nil, meta, fmt.Errorf("%w: %w", errNoSnapshot, err)
	}
	if meta.Root != root {
		return nil, meta, fmt.Errorf("%w: built at root %s, SQL is at %s", errNoSnapshot, meta.Root, root)
	}
	data, err := os.GetBytes(ctx, SnapshotObject)
	if err != nil {
		return nil, meta, fmt.Errorf("reconciler: snapshot read: %w", err)
	}
	f, err := cuckoo.Decode(data)
	if err != nil {
		return nil, meta, fmt.Errorf("%w: %w", errNoSnapshot, err)
	}
	if f.Count() != meta.Entries {
		return nil, meta, fmt.Errorf("%w: %d entries, metadata says %d", errNoSnapshot, f.Count(), meta.Entries)
	}
	return f, meta, nil
}

// publishSnapshot writes the filter's snapshot with its metadata.
func publishSnapshot(ctx context.Context, os jetstream.ObjectStore, data []byte, meta SnapshotMeta) error {
	_, err := os.Put(ctx, jetstream.ObjectMeta{
		Name:        SnapshotObject,
		Description: "Syncline cuckoo filter of live ids",
		Metadata:    meta.encode(),
	}, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("reconciler: publish snapshot: %w", err)
	}
	return nil
}

// scanInto inserts every live SQL id into f in pages of batch ids and
// calls progress after each page with the running count.
func scanInto(ctx context.Context, sql SQL, f *cuckoo.Filter, batch int, progress func(n int)) (int, error) {
	after, n := "", 0
	for {
		page, err := sql.ScanLive(ctx, after, batch)
		if err != nil {
			return n, fmt.Errorf("reconciler: filter scan: %w", err)
		}
		for _, e := range page {
			insert(f, e.ID)
		}
		n += len(page)
		if progress != nil {
			progress(n)
		}
		if len(page) < batch {
			return n, nil
		}
		after = page[len(page)-1].ID
	}
}

// filterCapacity sizes a rebuilt filter for live ids with room to grow.
func filterCapacity(live int64) uint {
	return uint(max(live+live/4, 1024))
}

// progressLogger returns a progress callback that logs at most every
// interval.
func (r *Reconciler) progressLogger(what string, interval time.Duration) func(int) {
	last := time.Now()
	return func(n int) {
		if time.Since(last) >= interval {
			last = time.Now()
			r.log.Info(what+" progress", "ids_scanned", n)
		}
	}
}
