package wal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Every process provisions at start, so starts are frequent and mostly find
// everything in place. ensureStream and ensureConsumer create what is
// missing and update only what differs from the wanted settings: a no-op
// update would still rewrite the stream's config on the server (which, in
// nats-server 2.15.2, races with a concurrent consumer create in the file
// store) and needs update permission for nothing.

// covers reports whether every field set in want (its JSON without zero
// values) already has that value in have.
func covers(have, want any) (bool, error) {
	hb, err := json.Marshal(have)
	if err != nil {
		return false, err
	}
	wb, err := json.Marshal(want)
	if err != nil {
		return false, err
	}
	var haveMap, merged map[string]any
	if err := json.Unmarshal(hb, &haveMap); err != nil {
		return false, err
	}
	if err := json.Unmarshal(hb, &merged); err != nil {
		return false, err
	}
	var wantMap map[string]any
	if err := json.Unmarshal(wb, &wantMap); err != nil {
		return false, err
	}
	for k, v := range wantMap {
		switch v := v.(type) {
		case nil:
			// unset in want (a nil slice or map without omitempty)
		case map[string]any:
			// the server adds its own entries to maps such as metadata
			// (_nats.*): compare only the keys we set
			m := map[string]any{}
			if hm, ok := haveMap[k].(map[string]any); ok {
				for hk, hv := range hm {
					m[hk] = hv
				}
			}
			for wk, wv := range v {
				m[wk] = wv
			}
			merged[k] = m
		case float64:
			// JetStream limits: 0 asks for the default, which the server
			// stores as -1 (unlimited)
			if v == 0 && haveMap[k] == float64(-1) {
				continue
			}
			merged[k] = v
		default:
			merged[k] = v
		}
	}
	a, _ := json.Marshal(haveMap)
	b, _ := json.Marshal(merged)
	return string(a) == string(b), nil
}

func ensureStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	s, err := js.Stream(ctx, sc.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err = js.CreateStream(ctx, sc); err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return err
		}
		s, err = js.Stream(ctx, sc.Name) // another process created it meanwhile
	}
	if err != nil {
		return err
	}
	ok, err := covers(s.CachedInfo().Config, sc)
	if err != nil || !ok {
		_, err = js.UpdateStream(ctx, sc)
	}
	return err
}

func ensureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cc jetstream.ConsumerConfig) error {
	c, err := js.Consumer(ctx, stream, cc.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		_, err = js.CreateOrUpdateConsumer(ctx, stream, cc)
		return err
	}
	if err != nil {
		return err
	}
	ok, err := covers(c.CachedInfo().Config, cc)
	if err != nil || !ok {
		_, err = js.CreateOrUpdateConsumer(ctx, stream, cc)
	}
	return err
}

// errNotEnsured wraps a provisioning failure with what was being ensured.
func errNotEnsured(kind, name string, err error) error {
	return fmt.Errorf("wal: provision %s %s: %w", kind, name, err)
}
