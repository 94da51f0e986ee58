package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// MaxMGet is the most ids one mget request carries; MGet splits longer
// lists.
const MaxMGet = 1000

// MGetResult is one id's answer to MGet.
type MGetResult struct {
	// Item is set when Found.
	Item  Item
	Found bool
	// Err is the id's own failure (an *item.Error), if any.
	Err error
}

// MGet reads ids with the same tiers and consistency options as Get and
// returns one result per id, in order. A failure of one id is its
// result's Err; the returned error is about the whole request.
func (c *Client) MGet(ctx context.Context, ids []string, opts ...ReadOption) ([]MGetResult, error) {
	for _, id := range ids {
		if err := item.ValidateID(id); err != nil {
			return nil, err
		}
	}
	out := make([]MGetResult, len(ids))
	h := readHeader(opts)
	todo := make([]int, len(ids))
	for i := range todo {
		todo[i] = i
	}
	for len(todo) > 0 {
		batch := todo[:min(len(todo), MaxMGet)]
		req := struct {
			IDs []string `json:"ids"`
		}{IDs: make([]string, len(batch))}
		for k, i := range batch {
			req.IDs[k] = ids[i]
		}
		body, _ := json.Marshal(req)
		var rep struct {
			Items []struct {
				ID          string `json:"id"`
				Found       bool   `json:"found"`
				Version     uint64 `json:"version"`
				ContentType string `json:"content_type"`
				State       string `json:"state"`
				Source      string `json:"source"`
				Payload     []byte `json:"payload"`
				Error       *struct {
					Code    item.Code `json:"code"`
					Message string    `json:"message"`
				} `json:"error"`
			} `json:"items"`
		}
		if err := c.queryJSON(ctx, c.names.APIVerbSubject(wal.VerbMGet), body, h, &rep); err != nil {
			return nil, err
		}
		if len(rep.Items) != len(batch) {
			return nil, item.Errorf(item.CodeInternal, "mget answered %d items for %d ids", len(rep.Items), len(batch))
		}
		var again []int
		for k, e := range rep.Items {
			i := batch[k]
			switch {
			case e.Error != nil && e.Error.Code == item.CodePayloadTooLarge && k > 0:
				again = append(again, i) // the reply was full: ask again
			case e.Error != nil:
				out[i] = MGetResult{Err: &item.Error{Code: e.Error.Code, Message: e.Error.Message}}
			case e.Found:
				out[i] = MGetResult{Found: true, Item: Item{ID: e.ID, Version: e.Version, Payload: e.Payload,
					ContentType: e.ContentType, State: e.State, Source: e.Source}}
			}
		}
		todo = append(again, todo[len(batch):]...)
	}
	return out, nil
}

// Currentness is IsCurrent's answer.
type Currentness struct {
	// Current: the live item's payload has the SHA-256 asked about.
	Current bool `json:"current"`
	// Exists: the item is live; Version is its version.
	Exists  bool   `json:"exists"`
	Version uint64 `json:"version"`
}

// IsCurrent asks whether the live item id has a payload with SHA-256 sum,
// without transferring the payload: a replication peer asks before it
// sends one. Consistency options apply as for Get.
func (c *Client) IsCurrent(ctx context.Context, id string, sum [sha256.Size]byte, opts ...ReadOption) (Currentness, error) {
	if err := item.ValidateID(id); err != nil {
		return Currentness{}, err
	}
	body, _ := json.Marshal(map[string]string{"sha256": hex.EncodeToString(sum[:])})
	var r Currentness
	err := c.queryJSON(ctx, c.names.APISubject(wal.VerbIsCurrent, id), body, readHeader(opts), &r)
	return r, err
}

// CacheResult answers PutCache and DeleteCache: the write never went
// through the WAL (no sequence).
type CacheResult struct {
	ID string `json:"id"`
	// Version is the version written or removed; when Applied is false,
	// the stored version that refused the write.
	Version uint64 `json:"version"`
	Applied bool   `json:"applied"`
}

// PutCache writes payload under id with Sync-Route: cache: into Redis
// only, expiring after ttl (0: the service's default, 1h), without WAL,
// SQL, ordering promise or merkle tree. Without WithVersion the write
// always applies (the stored version + 1); with it, only if it wins under
// last-writer-wins against what Redis shows. WithVersion, WithState and
// WithContentType apply.
func (c *Client) PutCache(ctx context.Context, id string, payload []byte, ttl time.Duration, opts ...WriteOption) (CacheResult, error) {
	if ttl != 0 {
		opts = append(opts, WithCacheTTL(ttl))
	}
	m, err := c.writeMsg(wal.VerbPut, id, payload, opts)
	if err != nil {
		return CacheResult{}, err
	}
	m.Header.Set(item.HeaderRoute, string(item.RouteCache))
	return c.cacheWrite(ctx, m)
}

// DeleteCache removes the cache-only value of id (WithVersion: only if its
// version is at most that). Items written through the pipeline are not
// touched. A missing value is item.ErrNotFound.
func (c *Client) DeleteCache(ctx context.Context, id string, opts ...WriteOption) (CacheResult, error) {
	m, err := c.writeMsg(wal.VerbDel, id, nil, opts)
	if err != nil {
		return CacheResult{}, err
	}
	m.Header.Set(item.HeaderRoute, string(item.RouteCache))
	return c.cacheWrite(ctx, m)
}

func (c *Client) cacheWrite(ctx context.Context, m *nats.Msg) (CacheResult, error) {
	resp, err := c.request(ctx, m)
	if err != nil {
		return CacheResult{}, err
	}
	var r CacheResult
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return CacheResult{}, &item.Error{Code: item.CodeInternal, Message: "reply is not a cache-route result", Err: err}
	}
	return r, nil
}

// GetCache reads id from Redis alone (Sync-Route: cache): cache-only
// values, and items the pipeline copied into Redis. Durable items are
// never there.
func (c *Client) GetCache(ctx context.Context, id string) (Item, error) {
	if err := item.ValidateID(id); err != nil {
		return Item{}, err
	}
	h := nats.Header{}
	h.Set(item.HeaderRoute, string(item.RouteCache))
	resp, err := c.request(ctx, &nats.Msg{Subject: c.names.APISubject(wal.VerbGet, id), Header: h})
	if err != nil {
		return Item{}, err
	}
	v, err := strconv.ParseUint(resp.Header.Get(item.HeaderVersion), 10, 64)
	if err != nil {
		return Item{}, &item.Error{Code: item.CodeInternal, Message: "reply has no valid Sync-Version", Err: err}
	}
	return Item{ID: id, Version: v, Payload: resp.Data, ContentType: resp.Header.Get(item.HeaderContentType),
		State: resp.Header.Get(item.HeaderState), Source: resp.Header.Get(item.HeaderSource)}, nil
}
