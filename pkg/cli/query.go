package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncline/syncline/pkg/cdc"
	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/wal"
)

// withClient runs fn with a connected client and a timeout.
func (e *env) withClient(ctx context.Context, timeout time.Duration, fn func(ctx context.Context, c *client.Client) error) error {
	nc, c, err := e.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return fn(ctx, c)
}

func prefixArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func readOptions(strong bool) []client.ReadOption {
	if strong {
		return []client.ReadOption{client.WithStrong()}
	}
	return nil
}

func newList(e *env) *cobra.Command {
	var q client.Query
	var limit int
	var cursor string
	var all, strong bool
	cmd := &cobra.Command{
		Use:   "list [prefix]",
		Short: "List live ids and versions under a dot prefix (whole keyspace without one), in id order, paged",
		Long: `Prints one page as JSON {"items":[{"id","version","state","content_type","route"}],"cursor","more"};
pass --cursor to get the next page, or --all to print every item as a JSON
line. A prefix matches on segment boundaries: "a.b" lists a.b and a.b.x,
never a.bc.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Prefix = prefixArg(args)
			return e.withClient(cmd.Context(), 5*time.Minute, func(ctx context.Context, c *client.Client) error {
				if !all {
					page, err := c.List(ctx, q, cursor, limit, readOptions(strong)...)
					if err != nil {
						return err
					}
					return printJSON(e.stdout, page)
				}
				enc := json.NewEncoder(e.stdout)
				return c.ListAll(ctx, q, limit, func(le client.ListEntry) error { return enc.Encode(le) }, readOptions(strong)...)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.State, "state", "", "only items in this state")
	f.IntVar(&limit, "limit", 0, "page size (default 100, at most 1000)")
	f.StringVar(&cursor, "cursor", "", "continue after the page that returned this cursor")
	f.BoolVar(&all, "all", false, "print every page, one JSON item per line")
	f.BoolVar(&strong, "strong", false, "include every write acknowledged before the request")
	return cmd
}

func newCount(e *env) *cobra.Command {
	var q client.Query
	var strong bool
	cmd := &cobra.Command{
		Use:   "count [prefix]",
		Short: `Count live items under a dot prefix (whole keyspace without one); prints {"count":N}`,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Prefix = prefixArg(args)
			return e.withClient(cmd.Context(), time.Minute, func(ctx context.Context, c *client.Client) error {
				n, err := c.Count(ctx, q, readOptions(strong)...)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, map[string]int64{"count": n})
			})
		},
	}
	cmd.Flags().StringVar(&q.State, "state", "", "only items in this state")
	cmd.Flags().BoolVar(&strong, "strong", false, "include every write acknowledged before the request")
	return cmd
}

func newDelPrefix(e *env) *cobra.Command {
	var q client.Query
	var origin string
	cmd := &cobra.Command{
		Use:   "delprefix [prefix]",
		Short: `Delete every live item under a dot prefix (and --state), as tombstones through the WAL; prints {"count","seq"}`,
		Long: `Writes a versioned tombstone (the item's version + 1) for every live item under
the prefix, in the state given, through the WAL. Without a prefix and a
state it needs --all to delete the whole keyspace.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Prefix = prefixArg(args)
			return e.withClient(cmd.Context(), 30*time.Minute, func(ctx context.Context, c *client.Client) error {
				var opts []client.WriteOption
				if origin != "" {
					opts = append(opts, client.WithOrigin(origin))
				}
				res, err := c.DeletePrefix(ctx, q, opts...)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, res)
			})
		},
	}
	cmd.Flags().StringVar(&q.State, "state", "", "only items in this state (delete by state)")
	cmd.Flags().BoolVar(&q.All, "all", false, "allow deleting the whole keyspace")
	cmd.Flags().StringVar(&origin, "origin", "", "Sync-Origin of the tombstones")
	return cmd
}

func newSetState(e *env) *cobra.Command {
	var version uint64
	var origin string
	var clear bool
	cmd := &cobra.Command{
		Use:   "setstate <id> [state]",
		Short: "Set (or --clear) an item's state: a versioned re-write of its payload through the WAL; prints {id, version, seq}",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			state := ""
			switch {
			case len(args) == 2 && clear:
				return errors.New("give a state or --clear, not both")
			case len(args) == 2:
				state = args[1]
			case !clear:
				return errors.New("give a state, or --clear to remove it")
			}
			return e.withClient(cmd.Context(), time.Minute, func(ctx context.Context, c *client.Client) error {
				var opts []client.WriteOption
				if version != 0 {
					opts = append(opts, client.WithVersion(version))
				}
				if origin != "" {
					opts = append(opts, client.WithOrigin(origin))
				}
				res, err := c.SetState(ctx, args[0], state, opts...)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, res)
			})
		},
	}
	cmd.Flags().Uint64Var(&version, "version", 0, "version of the re-write (default: the current version + 1)")
	cmd.Flags().StringVar(&origin, "origin", "", "Sync-Origin of the write")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the state")
	return cmd
}

// mgetLine is one line of `syncline mget`.
type mgetLine struct {
	ID          string `json:"id"`
	Found       bool   `json:"found"`
	Version     uint64 `json:"version,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	State       string `json:"state,omitempty"`
	Source      string `json:"source,omitempty"`
	Payload     []byte `json:"payload,omitempty"`
	Error       string `json:"error,omitempty"`
}

func newMGet(e *env) *cobra.Command {
	var strong bool
	cmd := &cobra.Command{
		Use:   "mget <id>...",
		Short: "Read several items in one request; prints one JSON line per id (payload base64)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withClient(cmd.Context(), time.Minute, func(ctx context.Context, c *client.Client) error {
				res, err := c.MGet(ctx, args, readOptions(strong)...)
				if err != nil {
					return err
				}
				enc := json.NewEncoder(e.stdout)
				for i, r := range res {
					l := mgetLine{ID: args[i], Found: r.Found}
					if r.Found {
						l.Version, l.ContentType, l.State, l.Source, l.Payload = r.Item.Version, r.Item.ContentType, r.Item.State, r.Item.Source, r.Item.Payload
					}
					if r.Err != nil {
						l.Error = r.Err.Error()
					}
					if err := enc.Encode(l); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&strong, "strong", false, "include every write acknowledged before the request")
	return cmd
}

func newIsCurrent(e *env) *cobra.Command {
	var sumHex string
	cmd := &cobra.Command{
		Use:   "is-current <id>",
		Short: `Ask whether the live item has a payload (SHA-256 from --sha256, else of stdin); prints {"current","exists","version"}`,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sum [sha256.Size]byte
			if sumHex != "" {
				b, err := hex.DecodeString(sumHex)
				if err != nil || len(b) != sha256.Size {
					return errors.New("--sha256 must be 64 hex digits")
				}
				copy(sum[:], b)
			} else {
				h := sha256.New()
				if _, err := io.Copy(h, io.LimitReader(e.stdin, 64<<20)); err != nil {
					return fmt.Errorf("read stdin: %w", err)
				}
				copy(sum[:], h.Sum(nil))
			}
			return e.withClient(cmd.Context(), 15*time.Second, func(ctx context.Context, c *client.Client) error {
				r, err := c.IsCurrent(ctx, args[0], sum)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, r)
			})
		},
	}
	cmd.Flags().StringVar(&sumHex, "sha256", "", "hex SHA-256 of the payload (default: hash stdin)")
	return cmd
}

func newCacheCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "The cache route: values in Redis only, with a TTL, outside the WAL, SQL and merkle trees",
	}
	var ttl time.Duration
	var version uint64
	put := &cobra.Command{
		Use:   "put <id> [payload]",
		Short: "Write a cache-only value (payload from the argument or stdin); prints {id, version, seq:0, applied}",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			payload, err := e.payloadArg(args, 1)
			if err != nil {
				return err
			}
			return e.withClient(cmd.Context(), 15*time.Second, func(ctx context.Context, c *client.Client) error {
				var opts []client.WriteOption
				if version != 0 {
					opts = append(opts, client.WithVersion(version))
				}
				r, err := c.PutCache(ctx, args[0], payload, ttl, opts...)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, r)
			})
		},
	}
	put.Flags().DurationVar(&ttl, "ttl", 0, "expiry (whole seconds; default the service's, 1h)")
	put.Flags().Uint64Var(&version, "version", 0, "explicit version (default: the stored version + 1)")
	get := &cobra.Command{
		Use:   "get <id>",
		Short: "Read an item from Redis alone (payload on stdout)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withClient(cmd.Context(), 15*time.Second, func(ctx context.Context, c *client.Client) error {
				it, err := c.GetCache(ctx, args[0])
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(it.Payload)
				return err
			})
		},
	}
	del := &cobra.Command{
		Use:   "del <id>",
		Short: "Remove a cache-only value; prints {id, version, applied}",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withClient(cmd.Context(), 15*time.Second, func(ctx context.Context, c *client.Client) error {
				r, err := c.DeleteCache(ctx, args[0])
				if err != nil {
					return err
				}
				return printJSON(e.stdout, r)
			})
		},
	}
	cmd.AddCommand(put, get, del)
	return cmd
}

// changeLine is one line of `syncline changes`: a commit record with its
// feed sequence.
type changeLine struct {
	Seq uint64 `json:"seq"`
	wal.CommitRecord
}

func newChanges(e *env) *cobra.Command {
	var from uint64
	var follow bool
	cmd := &cobra.Command{
		Use:   "changes",
		Short: "Print the commit feed (change-data-capture records, format v1) as JSON lines with their feed seq",
		Long: `Prints commit records from --from (default: the first one still held) up to
the last one, or with --follow until interrupted. Resume a consumer with
--from <last seq printed + 1>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, c, err := e.connect()
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			info, err := c.CommitFeed(ctx)
			if err != nil {
				return err
			}
			if from == 0 {
				from = max(info.FirstSeq, 1)
			}
			if !follow && from > info.LastSeq {
				return nil
			}
			enc := json.NewEncoder(e.stdout)
			errDone := errors.New("done")
			err = c.FollowCommits(ctx, from, func(seq uint64, r wal.CommitRecord) error {
				if err := enc.Encode(changeLine{Seq: seq, CommitRecord: r}); err != nil {
					return err
				}
				if !follow && seq >= info.LastSeq {
					return errDone
				}
				return nil
			})
			var gap *client.CommitGapError
			switch {
			case errors.Is(err, errDone), errors.Is(err, context.Canceled):
				return nil
			case errors.As(err, &gap):
				return fmt.Errorf("%w (resume with --from %d)", err, gap.Resume)
			}
			return err
		},
	}
	cmd.Flags().Uint64Var(&from, "from", 0, "first feed sequence (default: the first one held)")
	cmd.Flags().BoolVar(&follow, "follow", false, "keep printing new records until interrupted")
	return cmd
}

func newReplicate(e *env) *cobra.Command {
	var toPrefix string
	var cfg cdc.Config
	cmd := &cobra.Command{
		Use:   "replicate",
		Short: "Replicate this pipeline (--prefix) into another (--to-prefix) on the same NATS, without echo loops",
		Long: `Follows this pipeline's commit feed and writes every change into the pipeline
of --to-prefix with the source's versions and Sync-Origin, skipping changes
whose origin is --target-name. Run one in each direction for two-way
replication. Prints the last applied feed sequence on exit: resume with
--from <it + 1>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, src, err := e.connect()
			if err != nil {
				return err
			}
			defer nc.Close()
			dst, err := client.New(nc, client.WithPrefix(toPrefix))
			if err != nil {
				return err
			}
			r, err := cdc.New(src, dst, cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = r.Run(ctx)
			fmt.Fprintf(e.stderr, "replicated up to feed sequence %d: %+v\n", r.Last(), r.Stats())
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&toPrefix, "to-prefix", "", "subject prefix of the target pipeline (required)")
	f.StringVar(&cfg.Source, "source-name", "", "origin name of this pipeline (required)")
	f.StringVar(&cfg.Target, "target-name", "", "origin name of the target pipeline (required)")
	f.Uint64Var(&cfg.From, "from", 1, "first feed sequence to replicate")
	_ = cmd.MarkFlagRequired("to-prefix")
	_ = cmd.MarkFlagRequired("source-name")
	_ = cmd.MarkFlagRequired("target-name")
	return cmd
}
