package ingest

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/item"
)

// errorBody is the JSON body of every error reply.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    item.Code `json:"code"`
	Message string    `json:"message"`
}

// ok answers with v as JSON and counts the request.
func (s *Service) ok(r micro.Request, op string, v any) {
	s.m.requests.WithLabelValues(op, "ok").Inc()
	data, _ := json.Marshal(v) // plain structs of strings and numbers
	_ = r.Respond(data)        // a lost reply is the requester's timeout
}

// fail answers with err, which should be an *item.Error; anything else is
// reported as internal.
func (s *Service) fail(r micro.Request, op string, err error) {
	var ie *item.Error
	if !errors.As(err, &ie) {
		ie = &item.Error{Code: item.CodeInternal, Message: "internal error", Err: err}
	}
	if ie.Code == item.CodeUnavailable && ie.RetryAfterSeconds == 0 {
		cp := *ie
		cp.RetryAfterSeconds = int(s.cfg.RetryAfter.Seconds())
		ie = &cp
	}
	s.m.requests.WithLabelValues(op, string(ie.Code)).Inc()
	msg := ie.Message
	if msg == "" {
		msg = string(ie.Code)
	}
	body, _ := json.Marshal(errorBody{Error: errorDetail{Code: ie.Code, Message: msg}})
	h := micro.Headers{
		micro.ErrorCodeHeader: {strconv.Itoa(ie.Code.Status())},
		micro.ErrorHeader:     {string(ie.Code) + ": " + msg},
	}
	if ie.Code == item.CodeUnavailable {
		h[item.HeaderRetryAfter] = []string{retryAfter(ie.RetryAfterSeconds)}
	}
	// Respond, not r.Error: most replies are sent after the handler has
	// returned (reads and publishes complete on other goroutines), and
	// micro's Error records the error on the request, which micro's own
	// stats bookkeeping reads when the handler returns: a data race. The
	// headers are the same; per-code counts are in
	// syncline_ingest_requests_total instead of micro's num_errors.
	_ = r.Respond(body, micro.WithHeaders(h))
}
