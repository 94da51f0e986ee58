package writer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// maxRecordBytes keeps a commit record well under NATS's default 1 MiB
// max_payload; a larger commit is published as several records, each with
// the commit's root.
const maxRecordBytes = 512 << 10

// records turns a commit into feed records.
func records(writer string, res store.Result) []wal.CommitRecord {
	if len(res.Changes) == 0 {
		return nil
	}
	root := res.Root.String()
	var out []wal.CommitRecord
	cur := wal.CommitRecord{V: wal.CommitRecordVersion, Origin: "writer", Writer: writer, Root: root}
	size := 0
	for _, c := range res.Changes {
		cc := wal.CommitChange{ID: c.ID, Version: c.Version, Deleted: c.Deleted, State: c.State,
			CacheTTL: int64(c.CacheTTL / time.Second), Seq: c.Seq, Origin: c.Origin}
		if !c.Deleted {
			cc.Leaf = c.Leaf.String()
			cc.ContentType = c.ContentType
			cc.Route = string(c.Route)
			cc.PayloadSHA256 = hex.EncodeToString(c.PayloadSum[:])
		}
		n := len(c.ID) + len(c.State) + len(c.Origin) + 300 // JSON framing, hashes, numbers
		if size+n > maxRecordBytes && len(cur.Changes) > 0 {
			out = append(out, cur)
			cur = wal.CommitRecord{V: wal.CommitRecordVersion, Origin: "writer", Writer: writer, Root: root}
			size = 0
		}
		cur.Changes = append(cur.Changes, cc)
		size += n
	}
	return append(out, cur)
}

// publish appends the commit's records to the feed, before the WAL
// messages are acknowledged (see committed).
func (w *Writer) publish(ctx context.Context, res store.Result) error {
	for _, r := range records(w.cfg.Name, res) {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, err := wal.PublishCommit(pctx, w.js, w.names, r)
		cancel()
		if err != nil {
			w.m.feedErrors.Inc()
			w.m.errors.WithLabelValues("commit_feed").Inc()
			w.log.Warn("commit feed publish failed; the batch will be redelivered and announced again", "err", err, "changes", len(r.Changes))
			return err
		}
	}
	return nil
}

// sumOf is SHA-256 of a payload (the commit record's payload_sha256).
func sumOf(payload []byte) [32]byte { return sha256.Sum256(payload) }
