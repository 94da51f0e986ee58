package system

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sqlRow is one sync_items row as the checks compare it.
type sqlRow struct {
	version uint64
	deleted bool
	payload []byte
	ct      string
	state   string
}

// sqlRows reads every row of sync_items in the cluster's schema.
func (c *cluster) sqlRows(ctx context.Context) (map[string]sqlRow, error) {
	rows, err := c.pg.Query(ctx, `SELECT id, version, deleted, payload, content_type, coalesce(state, '') FROM sync_items`)
	if err != nil {
		return nil, fmt.Errorf("sql: %w", err)
	}
	defer rows.Close()
	out := map[string]sqlRow{}
	for rows.Next() {
		var id string
		var v int64
		var r sqlRow
		if err := rows.Scan(&id, &v, &r.deleted, &r.payload, &r.ct, &r.state); err != nil {
			return nil, fmt.Errorf("sql scan: %w", err)
		}
		r.version = uint64(v)
		out[id] = r
	}
	return out, rows.Err()
}

// compareSQL checks that SQL holds exactly the expected final state: every
// id of want with its winner, and nothing else.
func compareSQL(want map[string]want, rows map[string]sqlRow) error {
	var diffs []string
	add := func(format string, args ...any) {
		if len(diffs) < 10 {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		}
	}
	bad := 0
	for id, w := range want {
		r, ok := rows[id]
		switch {
		case !ok:
			bad++
			add("%s: missing (want v%d deleted=%v)", id, w.version, w.deleted)
		case r.version != w.version || r.deleted != w.deleted:
			bad++
			add("%s: v%d deleted=%v, want v%d deleted=%v", id, r.version, r.deleted, w.version, w.deleted)
		case !w.deleted && (!bytes.Equal(r.payload, w.payload) || r.ct != w.ct || r.state != w.state):
			bad++
			add("%s v%d: payload/content_type/state differ (%q %q vs %q %q)", id, r.version, r.ct, r.state, w.ct, w.state)
		}
	}
	for id := range rows {
		if _, ok := want[id]; !ok {
			bad++
			add("%s: in SQL but never acknowledged", id)
		}
	}
	if bad > 0 {
		sort.Strings(diffs)
		return fmt.Errorf("SQL differs from the acknowledged writes in %d ids: %s", bad, strings.Join(diffs, "; "))
	}
	return nil
}

// compareRedis checks that Redis holds every live SQL item with the same
// version, payload, content type and state, and no other item.
func (c *cluster) compareRedis(ctx context.Context, rows map[string]sqlRow) error {
	ids := make([]string, 0, len(rows))
	for id, r := range rows {
		if !r.deleted {
			ids = append(ids, id)
		}
	}
	var diffs []string
	bad := 0
	for start := 0; start < len(ids); start += 1000 {
		chunk := ids[start:min(start+1000, len(ids))]
		pipe := c.rdb.Pipeline()
		for _, id := range chunk {
			pipe.HGetAll(ctx, c.redisPrefix+"item:"+id)
		}
		cmds, err := pipe.Exec(ctx)
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		for i, cmd := range cmds {
			id := chunk[i]
			h, err := cmd.(interface {
				Result() (map[string]string, error)
			}).Result()
			if err != nil {
				return fmt.Errorf("redis hgetall %s: %w", id, err)
			}
			r := rows[id]
			var why string
			switch {
			case len(h) == 0:
				why = "missing"
			case h["version"] != strconv.FormatUint(r.version, 10):
				why = "version " + h["version"] + " != " + strconv.FormatUint(r.version, 10)
			case h["payload"] != string(r.payload):
				why = "payload differs"
			case h["content_type"] != r.ct:
				why = "content_type " + h["content_type"] + " != " + r.ct
			case h["state"] != r.state:
				why = "state " + h["state"] + " != " + r.state
			}
			if why != "" {
				bad++
				if len(diffs) < 10 {
					diffs = append(diffs, id+": "+why)
				}
			}
		}
	}
	n, err := c.redisItemCount(ctx)
	if err != nil {
		return err
	}
	if bad > 0 || n != len(ids) {
		return fmt.Errorf("Redis differs from SQL: %d of %d live items differ, Redis holds %d items: %s",
			bad, len(ids), n, strings.Join(diffs, "; "))
	}
	return nil
}

// redisItemCount counts the item keys under the cluster's Redis prefix.
func (c *cluster) redisItemCount(ctx context.Context) (int, error) {
	n := 0
	iter := c.rdb.Scan(ctx, 0, c.redisPrefix+"item:*", 2000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	return n, iter.Err()
}

// verify runs `syncline verify [args]` and returns an error unless it
// exits 0.
func (c *cluster) verify(ctx context.Context, args ...string) error {
	r := c.cli(ctx, append([]string{"verify"}, args...)...)
	if r.code != 0 {
		return fmt.Errorf("syncline verify %s: exit %d: %s %s", strings.Join(args, " "), r.code,
			strings.TrimSpace(r.stdout), strings.TrimSpace(r.stderr))
	}
	return nil
}

// figures are what a scenario reports.
type figures struct {
	acked, found int
	converge     time.Duration
	errCodes     map[string]int
}

func (f figures) String() string {
	return fmt.Sprintf("writes acknowledged %d, writes found %d, converged in %s, failed attempts %v",
		f.acked, f.found, f.converge.Round(10*time.Millisecond), f.errCodes)
}

// converge waits until SQL holds exactly the ledger's expected state, Redis
// equals SQL and `syncline verify` exits 0; since is when the last write was
// acknowledged. It logs and returns the scenario's figures.
func (c *cluster) converge(t testing.TB, l *ledger, label string, since time.Time) figures {
	t.Helper()
	l.check(t)
	l.mu.Lock()
	wantCopy := make(map[string]want, len(l.want))
	for k, v := range l.want {
		wantCopy[k] = v
	}
	acks := append([]ack(nil), l.acks...)
	l.mu.Unlock()

	var rows map[string]sqlRow
	checkFor(t, scale().converge, 250*time.Millisecond, func() error {
		if err := c.crashed(); err != nil {
			t.Fatalf("%v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var err error
		if rows, err = c.sqlRows(ctx); err != nil {
			return err
		}
		if err := compareSQL(wantCopy, rows); err != nil {
			return err
		}
		if err := c.compareRedis(ctx, rows); err != nil {
			return err
		}
		return c.verify(ctx)
	})
	f := figures{converge: time.Since(since)}
	// The operator's view agrees: nothing pending, the trees in sync.
	checkFor(t, 30*time.Second, 250*time.Millisecond, func() error {
		st, err := c.status(tctx(t, 30*time.Second))
		if err != nil {
			return err
		}
		if st.WALPending != 0 || st.InSync == nil || !*st.InSync {
			return fmt.Errorf("syncline status: wal_pending %d, in_sync %v, errors %v", st.WALPending, st.InSync, st.Errors)
		}
		return nil
	})
	f.acked, f.errCodes = l.counts()
	// An acknowledged write is found when SQL holds it or something that
	// beats it.
	for _, a := range acks {
		r, ok := rows[a.id]
		switch {
		case !ok:
		case r.version > a.version:
			f.found++
		case r.version == a.version && r.deleted:
			f.found++
		case r.version == a.version && !a.deleted:
			// The same put, or one of its version with a greater hash.
			if sum := sha256.Sum256(r.payload); bytes.Compare(sum[:], a.sum[:]) >= 0 {
				f.found++
			}
		}
	}
	if f.found != f.acked {
		t.Errorf("%s: %d acknowledged writes are neither in SQL nor superseded", label, f.acked-f.found)
	}
	t.Logf("%s: %s", label, f)
	report("%-40s %s", label, f)
	return f
}
