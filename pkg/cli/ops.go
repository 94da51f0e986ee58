package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/syncline/syncline/pkg/engine/reconciler"
	"github.com/syncline/syncline/pkg/status"
)

func newStatus(e *env) *cobra.Command {
	var asJSON bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every stage's state, WAL lag, DLQ depth, merkle roots, filter and leader",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, _, err := e.connect()
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			st, err := status.Gather(ctx, nc, e.s.WAL.Names(), status.Options{Wait: wait})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, st)
			}
			printStatus(e.stdout, st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (field names are part of the contract)")
	cmd.Flags().DurationVar(&wait, "wait", 500*time.Millisecond, "how long to collect process replies")
	return cmd
}

func printStatus(w io.Writer, st status.Status) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PROCESS\tINSTANCE\tHOST\tSTAGES\tREADY\tHTTP\n")
	for _, p := range st.Processes {
		stages := ""
		for k, v := range p.Stages {
			if stages != "" {
				stages += ","
			}
			stages += k + "=" + v
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", p.Process, p.Instance, p.Host, stages, p.Ready, p.HTTPAddr)
	}
	if len(st.Processes) == 0 {
		fmt.Fprintf(tw, "(no process answered)\t\t\t\t\t\n")
	}
	_ = tw.Flush()
	inSync := "unknown (no reconciler/Redis)"
	if st.InSync != nil {
		inSync = fmt.Sprint(*st.InSync)
	}
	fmt.Fprintf(w, "\nWAL: last seq %d, writers' ack floor %d, pending %d, replicas %d\n", st.WALLastSeq, st.AckFloor, st.WALPending, st.WALReplicas)
	fmt.Fprintf(w, "durability: %s\n", orDash(st.Durability))
	fmt.Fprintf(w, "DLQ: %d messages\n", st.DLQMessages)
	fmt.Fprintf(w, "SQL root:   %s\nRedis root: %s\nin sync:    %s\n", orDash(st.SQLRoot), orDash(st.RedisRoot), inSync)
	fmt.Fprintf(w, "filter: %d entries, trusted %v\nleader: %s\n", st.FilterEntries, st.FilterTrusted, orDash(st.Leader))
	for _, e := range st.Errors {
		fmt.Fprintf(w, "note: %s\n", e)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newVerify(e *env) *cobra.Command { return newCheck(e, false) }
func newRepair(e *env) *cobra.Command { return newCheck(e, true) }

// newCheck builds verify and repair: both are served by the active
// reconciler over NATS.
func newCheck(e *env, repair bool) *cobra.Command {
	var req reconciler.AdminRequest
	var asJSON bool
	var timeout time.Duration
	use, short := "verify", "Compare SQL and Redis branch by branch; exit 1 on a difference, listing the first differing ids"
	if repair {
		use, short = "repair", "Run the branch-diff repair now (--deep: also rewrite Redis values that differ from SQL)"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, _, err := e.connect()
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			rep, err := adminRequest(ctx, nc, e.s.WAL.Names().Prefix(), req, repair)
			if err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(e.stdout, rep); err != nil {
					return err
				}
			} else {
				printReport(e.stdout, use, rep)
			}
			if !repair && !rep.Report.InSync {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&req.Prefix, "prefix", "", "only the ids under this dot prefix")
	cmd.Flags().BoolVar(&req.Deep, "deep", false, "recompute leaf hashes from Redis values (catches values changed behind Syncline's back)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the reconciler")
	return cmd
}

func adminRequest(ctx context.Context, nc *nats.Conn, prefix string, req reconciler.AdminRequest, repair bool) (reconciler.AdminReply, error) {
	var rep reconciler.AdminReply
	subject := reconciler.VerifySubject(prefix)
	if repair {
		subject = reconciler.RepairSubject(prefix)
	}
	body, _ := json.Marshal(req)
	m, err := nc.RequestWithContext(ctx, subject, body)
	if errors.Is(err, nats.ErrNoResponders) {
		return rep, fmt.Errorf("no reconciler answers on %s: is one running, with Redis configured?", subject)
	}
	if err != nil {
		return rep, fmt.Errorf("%s: %w", subject, err)
	}
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return rep, fmt.Errorf("%s: bad reply: %w", subject, err)
	}
	if rep.Error != nil {
		return rep, fmt.Errorf("%s: %s", rep.Error.Code, rep.Error.Message)
	}
	if rep.Report == nil {
		return rep, fmt.Errorf("%s: reply without a report", subject)
	}
	return rep, nil
}

func printReport(w io.Writer, what string, rep reconciler.AdminReply) {
	r := rep.Report
	fmt.Fprintf(w, "%s prefix=%q deep=%v\n", what, r.Prefix, r.Deep)
	fmt.Fprintf(w, "SQL root:   %s\nRedis root: %s\n", rep.SQLRoot, rep.RedisRoot)
	fmt.Fprintf(w, "in sync: %v, differing ids: %d", r.InSync, r.DifferenceCount)
	if r.Truncated {
		fmt.Fprint(w, " (stopped early)")
	}
	fmt.Fprintln(w)
	for _, id := range r.Differences {
		fmt.Fprintf(w, "  %s\n", id)
	}
	b, _ := json.Marshal(r.Repaired)
	fmt.Fprintf(w, "repaired: %s\n", b)
}
