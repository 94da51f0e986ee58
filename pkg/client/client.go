package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// Client talks to one Syncline pipeline over a NATS connection it does not
// own.
type Client struct {
	nc      *nats.Conn
	names   wal.Names
	timeout time.Duration
	js      jetstream.JetStream
	walCfg  wal.Config
}

// Option configures a Client.
type Option func(*Client) error

// WithPrefix selects the pipeline's subject prefix (default "sync").
func WithPrefix(p string) Option {
	return func(c *Client) error {
		if err := wal.ValidatePrefix(p); err != nil {
			return err
		}
		c.walCfg.Prefix = p
		return nil
	}
}

// WithPartitions sets the WAL partition count PublishWAL hashes over; it
// must match the pipeline's (default 16).
func WithPartitions(n int) Option {
	return func(c *Client) error {
		c.walCfg.Partitions = n
		return nil
	}
}

// WithTimeout bounds a request when its ctx has no deadline (default 5s).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("client: timeout %s must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// New returns a client on nc.
func New(nc *nats.Conn, opts ...Option) (*Client, error) {
	c := &Client{nc: nc, timeout: 5 * time.Second}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	c.walCfg = c.walCfg.WithDefaults()
	if err := c.walCfg.Validate(); err != nil {
		return nil, err
	}
	c.names = c.walCfg.Names()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("client: jetstream: %w", err)
	}
	c.js = js
	return c, nil
}

// Result is the acknowledgement of a put or delete.
type Result struct {
	ID      string `json:"id"`
	Version uint64 `json:"version"`
	// Seq is the write's WAL sequence; pass it to WithAfterSeq to read
	// your write.
	Seq uint64 `json:"seq"`
}

// Item is a live item as Get returns it.
type Item struct {
	ID          string
	Version     uint64
	Payload     []byte
	ContentType string
	State       string
	// Source is the tier that answered: l1, l2 or l3.
	Source string
}

// Put stores payload under id; it returns once the write is durable in the
// WAL.
func (c *Client) Put(ctx context.Context, id string, payload []byte, opts ...WriteOption) (Result, error) {
	m, err := c.writeMsg(wal.VerbPut, id, payload, opts)
	if err != nil {
		return Result{}, err
	}
	return c.doWrite(ctx, m)
}

// Delete writes a tombstone for id.
func (c *Client) Delete(ctx context.Context, id string, opts ...WriteOption) (Result, error) {
	m, err := c.writeMsg(wal.VerbDel, id, nil, opts)
	if err != nil {
		return Result{}, err
	}
	return c.doWrite(ctx, m)
}

// Get returns the item id; a missing item is item.ErrNotFound.
func (c *Client) Get(ctx context.Context, id string, opts ...ReadOption) (Item, error) {
	if err := item.ValidateID(id); err != nil {
		return Item{}, err
	}
	o := readOpts{h: nats.Header{}}
	for _, opt := range opts {
		opt(&o)
	}
	m := &nats.Msg{Subject: c.names.APISubject(wal.VerbGet, id), Header: o.h}
	resp, err := c.request(ctx, m)
	if err != nil {
		return Item{}, err
	}
	v, err := strconv.ParseUint(resp.Header.Get(item.HeaderVersion), 10, 64)
	if err != nil {
		return Item{}, &item.Error{Code: item.CodeInternal, Message: "reply has no valid Sync-Version", Err: err}
	}
	return Item{
		ID: id, Version: v, Payload: resp.Data,
		ContentType: resp.Header.Get(item.HeaderContentType),
		State:       resp.Header.Get(item.HeaderState),
		Source:      resp.Header.Get(item.HeaderSource),
	}, nil
}

// Exists reports whether id is a live item.
func (c *Client) Exists(ctx context.Context, id string) (bool, error) {
	if err := item.ValidateID(id); err != nil {
		return false, err
	}
	resp, err := c.request(ctx, &nats.Msg{Subject: c.names.APISubject(wal.VerbExists, id)})
	if err != nil {
		return false, err
	}
	var r struct {
		Exists bool `json:"exists"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return false, &item.Error{Code: item.CodeInternal, Message: "reply is not {\"exists\":bool}", Err: err}
	}
	return r.Exists, nil
}

// PublishWAL appends w straight to the WAL with JetStream, as a trusted
// producer: it validates w, picks the partition and waits for the PubAck.
// Errors are *item.Error like the service's.
func (c *Client) PublishWAL(ctx context.Context, w wal.Write) (wal.Ack, error) {
	if err := w.Validate(c.walCfg.MaxPayload); err != nil {
		var ie *item.Error
		if errors.As(err, &ie) {
			return wal.Ack{}, ie
		}
		return wal.Ack{}, err
	}
	ack, err := c.js.PublishMsg(ctx, w.Encode(c.names))
	if err != nil {
		return wal.Ack{}, c.walCfg.TranslatePublishError(err)
	}
	return wal.Ack{Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

func (c *Client) writeMsg(verb, id string, payload []byte, opts []WriteOption) (*nats.Msg, error) {
	if err := item.ValidateID(id); err != nil {
		return nil, err
	}
	o := writeOpts{h: nats.Header{}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &nats.Msg{Subject: c.names.APISubject(verb, id), Header: o.h, Data: payload}, nil
}

func (c *Client) doWrite(ctx context.Context, m *nats.Msg) (Result, error) {
	resp, err := c.request(ctx, m)
	if err != nil {
		return Result{}, err
	}
	return decodeResult(resp.Data)
}

func decodeResult(data []byte) (Result, error) {
	if r, ok := fastResult(data); ok {
		return r, nil
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil || r.Seq == 0 {
		return Result{}, &item.Error{Code: item.CodeInternal, Message: "reply is not {\"id\",\"version\",\"seq\"}", Err: err}
	}
	return r, nil
}

func (c *Client) request(ctx context.Context, m *nats.Msg) (*nats.Msg, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	if m.Header == nil {
		m.Header = nats.Header{}
	}
	wal.InjectTrace(ctx, m.Header)
	resp, err := c.nc.RequestMsgWithContext(ctx, m)
	if err != nil {
		return nil, transportError(err)
	}
	if err := replyError(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// fastResult parses the exact reply shape ingest writes,
// {"id":"..","version":N,"seq":N}, without reflection; anything else is
// left to encoding/json.
func fastResult(b []byte) (Result, bool) {
	const pid, pver, pseq = `{"id":"`, `,"version":`, `,"seq":`
	if !bytes.HasPrefix(b, []byte(pid)) {
		return Result{}, false
	}
	// Only printable ASCII with \" as the one escape: what ingest writes
	// for a valid id. Anything else goes to encoding/json.
	id := make([]byte, 0, 64)
	j := len(pid)
	for ; j < len(b) && b[j] != '"'; j++ {
		c := b[j]
		if c == '\\' {
			if j+1 >= len(b) || b[j+1] != '"' {
				return Result{}, false
			}
			j++
			c = '"'
		} else if c < 0x20 || c > 0x7e {
			return Result{}, false
		}
		id = append(id, c)
	}
	if j >= len(b) {
		return Result{}, false
	}
	num := func(rest []byte, prefix string, end byte) (uint64, []byte, bool) {
		if !bytes.HasPrefix(rest, []byte(prefix)) {
			return 0, nil, false
		}
		rest = rest[len(prefix):]
		k := bytes.IndexByte(rest, end)
		if k < 1 || (k > 1 && rest[0] == '0') {
			return 0, nil, false
		}
		v, err := strconv.ParseUint(string(rest[:k]), 10, 64)
		return v, rest[k:], err == nil
	}
	ver, rest, ok := num(b[j+1:], pver, ',')
	if !ok {
		return Result{}, false
	}
	seq, rest, ok := num(rest, pseq, '}')
	if !ok || len(rest) != 1 || seq == 0 {
		return Result{}, false
	}
	return Result{ID: string(id), Version: ver, Seq: seq}, true
}
