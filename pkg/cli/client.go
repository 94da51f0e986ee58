package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/natsconn"
)

// connect opens a NATS connection and a client for one command.
func (e *env) connect() (*nats.Conn, *client.Client, error) {
	cfg := e.s.NATS
	cfg.Name = "syncline-cli"
	cfg.MaxReconnects = 2
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, err := natsconn.Connect(cfg, log)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS %s: %w", natsconn.Redact(cfg.WithDefaults().URLs), err)
	}
	c, err := client.New(nc, client.WithPrefix(e.s.WAL.Prefix))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, c, nil
}

type writeFlags struct {
	version     uint64
	state       string
	ttl         time.Duration
	contentType string
	msgID       string
}

func (w *writeFlags) bind(cmd *cobra.Command, withPayload bool) {
	cmd.Flags().Uint64Var(&w.version, "version", 0, "explicit version (1..2^63-1); default: the WAL sequence")
	cmd.Flags().StringVar(&w.msgID, "msg-id", "", "idempotency key (Nats-Msg-Id)")
	if withPayload {
		cmd.Flags().StringVar(&w.state, "state", "", "state tag")
		cmd.Flags().DurationVar(&w.ttl, "ttl", 0, "Redis cache TTL (whole seconds)")
		cmd.Flags().StringVar(&w.contentType, "content-type", "", "application/json or application/octet-stream (default: sniffed)")
	}
}

func (w *writeFlags) options() []client.WriteOption {
	var o []client.WriteOption
	if w.version != 0 {
		o = append(o, client.WithVersion(w.version))
	}
	if w.state != "" {
		o = append(o, client.WithState(w.state))
	}
	if w.ttl != 0 {
		o = append(o, client.WithCacheTTL(w.ttl))
	}
	if w.contentType != "" {
		o = append(o, client.WithContentType(w.contentType))
	}
	if w.msgID != "" {
		o = append(o, client.WithMsgID(w.msgID))
	}
	return o
}

// payloadArg is args[i] when given, else stdin (at most 64 MiB).
func (e *env) payloadArg(args []string, i int) ([]byte, error) {
	if len(args) > i {
		return []byte(args[i]), nil
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return b, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newPut(e *env) *cobra.Command {
	var wf writeFlags
	cmd := &cobra.Command{
		Use:   "put <id> [payload]",
		Short: "Write an item (payload from the argument or stdin); prints {id, version, seq}",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			payload, err := e.payloadArg(args, 1)
			if err != nil {
				return err
			}
			return e.withClient(cmd.Context(), 10*time.Second, func(ctx context.Context, c *client.Client) error {
				res, err := c.Put(ctx, args[0], payload, wf.options()...)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, res)
			})
		},
	}
	wf.bind(cmd, true)
	return cmd
}

func newDel(e *env) *cobra.Command {
	var wf writeFlags
	cmd := &cobra.Command{
		Use:   "del <id>",
		Short: "Delete an item (a versioned tombstone); prints {id, version, seq}",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withClient(cmd.Context(), 10*time.Second, func(ctx context.Context, c *client.Client) error {
				res, err := c.Delete(ctx, args[0], wf.options()...)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, res)
			})
		},
	}
	wf.bind(cmd, false)
	return cmd
}

func newGet(e *env) *cobra.Command {
	var afterSeq uint64
	var strong, meta bool
	cmd := &cobra.Command{
		Use:   "get <id>",
		Short: "Read an item: the payload on stdout (--meta: version, type, state and tier on stderr)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []client.ReadOption
			if afterSeq != 0 {
				opts = append(opts, client.WithAfterSeq(afterSeq))
			}
			if strong {
				opts = append(opts, client.WithStrong())
			}
			return e.withClient(cmd.Context(), 15*time.Second, func(ctx context.Context, c *client.Client) error {
				it, err := c.Get(ctx, args[0], opts...)
				if err != nil {
					return err
				}
				if meta {
					fmt.Fprintf(e.stderr, "version=%d content_type=%s state=%s source=%s\n", it.Version, it.ContentType, it.State, it.Source)
				}
				_, err = e.stdout.Write(it.Payload)
				return err
			})
		},
	}
	cmd.Flags().Uint64Var(&afterSeq, "after-seq", 0, "answer only from a tier that includes WAL sequence N (read-your-writes)")
	cmd.Flags().BoolVar(&strong, "strong", false, "Sync-Consistency: strong (include every write acknowledged before the request)")
	cmd.Flags().BoolVar(&meta, "meta", false, "print version, content type, state and source tier on stderr")
	return cmd
}

func newExists(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "exists <id>",
		Short: `Ask whether an item exists; prints {"exists": true|false}`,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withClient(cmd.Context(), 10*time.Second, func(ctx context.Context, c *client.Client) error {
				ok, err := c.Exists(ctx, args[0])
				if err != nil {
					return err
				}
				return printJSON(e.stdout, map[string]bool{"exists": ok})
			})
		},
	}
}
