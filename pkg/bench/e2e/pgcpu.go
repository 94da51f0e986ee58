package e2e

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// withAppName returns rawURL with application_name set, so that the
// server backends serving its connections can be found in
// pg_stat_activity.
func withAppName(rawURL, app string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("e2e: PostgreSQL url: %w", err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// pgCPU reads the CPU time of the PostgreSQL backends of one
// application_name from /proc (so only for a server on this machine).
type pgCPU struct {
	base string
	app  string
}

// sample returns each backend's CPU time by pid; empty when the backends
// cannot be read (a remote server).
func (p pgCPU) sample(ctx context.Context) map[int]time.Duration {
	out := map[int]time.Duration{}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.base)
	if err != nil {
		return out
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", p.app)
	if err != nil {
		return out
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return out
	}
	for _, pid := range pids {
		if s, err := ReadProcStat(int(pid)); err == nil {
			out[int(pid)] = s.CPU
		}
	}
	return out
}

// since returns the CPU used between two samples by the backends of the
// second (a backend that connected in between counts from zero; one that
// disconnected is lost, which pools make rare).
func cpuSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, a := range after {
		d += a - before[pid]
	}
	return d
}
