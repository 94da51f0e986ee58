package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
)

// AdminRequest is the JSON body of a <prefix>.admin.verify or
// <prefix>.admin.repair request; an empty body means the whole tree,
// not deep.
type AdminRequest struct {
	Prefix string `json:"prefix"`
	Deep   bool   `json:"deep"`
}

// AdminReply is the JSON reply: the report, or an error.
type AdminReply struct {
	Report    *Report     `json:"report,omitempty"`
	SQLRoot   string      `json:"sql_root,omitempty"`
	RedisRoot string      `json:"redis_root,omitempty"`
	Error     *AdminError `json:"error,omitempty"`
}

// AdminError is the error shape of the client API.
type AdminError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// VerifySubject and RepairSubject are the admin subjects for a subject
// prefix ("sync.admin.verify"). Only the leader serves them.
func VerifySubject(prefix string) string { return prefix + ".admin.verify" }

// RepairSubject: see VerifySubject.
func RepairSubject(prefix string) string { return prefix + ".admin.repair" }

// serveAdmin starts answering the admin subjects for the leadership ctx
// and returns the function that stops (idempotent). The subscriptions
// exist before it returns, so the stage can report running right after.
// Requests are handled one at a time on the subscription's goroutine;
// stopping waits for the one in flight.
func (r *Reconciler) serveAdmin(ctx context.Context) (stop func()) {
	nc := r.js.Conn()
	var mu sync.Mutex // held by a running handler
	closed := false
	handle := func(repair bool) nats.MsgHandler {
		return func(m *nats.Msg) {
			mu.Lock()
			defer mu.Unlock()
			if closed {
				return
			}
			reply := r.admin(ctx, m.Data, repair)
			data, _ := json.Marshal(reply)
			_ = m.Respond(data)
		}
	}
	var subs []*nats.Subscription
	for _, s := range []struct {
		subject string
		repair  bool
	}{{VerifySubject(r.names.Prefix()), false}, {RepairSubject(r.names.Prefix()), true}} {
		sub, err := nc.QueueSubscribe(s.subject, StageName, handle(s.repair))
		if err != nil {
			r.log.Warn("admin subjects not served", "err", err)
			break
		}
		subs = append(subs, sub)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, sub := range subs {
				_ = sub.Unsubscribe()
			}
			mu.Lock()
			closed = true
			mu.Unlock()
		})
	}
}

func (r *Reconciler) admin(ctx context.Context, body []byte, repair bool) AdminReply {
	var req AdminRequest
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return AdminReply{Error: &AdminError{Code: "invalid_request", Message: err.Error()}}
		}
	}
	var rep Report
	var err error
	if repair {
		rep, err = r.Repair(ctx, req.Prefix, req.Deep)
	} else {
		rep, err = r.Verify(ctx, req.Prefix, req.Deep)
	}
	if err != nil {
		return AdminReply{Error: adminError(err)}
	}
	return AdminReply{Report: &rep, SQLRoot: rep.SQLRoot.String(), RedisRoot: rep.RedisRoot.String()}
}

func adminError(err error) *AdminError {
	code := item.CodeInternal
	switch {
	case errors.Is(err, item.ErrInvalidID):
		code = item.CodeInvalidID
	case errors.Is(err, rediscache.ErrUnavailable), errors.Is(err, store.ErrUnavailable),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		code = item.CodeUnavailable
	}
	return &AdminError{Code: string(code), Message: fmt.Sprint(err)}
}
