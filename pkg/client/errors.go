package client

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
)

const (
	headerErrCode = "Nats-Service-Error-Code"
	headerErr     = "Nats-Service-Error"
	headerStatus  = "Status"
)

// replyError returns the *item.Error a reply carries, or nil for success.
func replyError(m *nats.Msg) error {
	if m.Header == nil {
		return nil
	}
	if st := m.Header.Get(headerStatus); st == "503" && len(m.Data) == 0 {
		return &item.Error{Code: item.CodeUnavailable, Message: "no ingest service is answering", RetryAfterSeconds: 1, Err: nats.ErrNoResponders}
	}
	status := m.Header.Get(headerErrCode)
	if status == "" {
		return nil
	}
	e := &item.Error{}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(m.Data, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = item.Code(body.Error.Code), body.Error.Message
	} else {
		// No JSON body: "<code>: <message>" in Nats-Service-Error.
		desc := m.Header.Get(headerErr)
		code, msg, ok := strings.Cut(desc, ": ")
		if !ok {
			code, msg = codeForStatus(status), desc
		}
		e.Code, e.Message = item.Code(code), msg
	}
	if ra, err := strconv.Atoi(m.Header.Get(item.HeaderRetryAfter)); err == nil && ra > 0 {
		e.RetryAfterSeconds = ra
	}
	return e
}

func codeForStatus(status string) string {
	switch status {
	case "404":
		return string(item.CodeNotFound)
	case "413":
		return string(item.CodePayloadTooLarge)
	case "503":
		return string(item.CodeUnavailable)
	default:
		return string(item.CodeInternal)
	}
}

// transportError turns a request failure into an *item.Error.
func transportError(err error) error {
	var ie *item.Error
	if errors.As(err, &ie) {
		return err
	}
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return &item.Error{Code: item.CodeUnavailable, Message: "no ingest service is answering", RetryAfterSeconds: 1, Err: err}
	case errors.Is(err, nats.ErrMaxPayload):
		return &item.Error{Code: item.CodePayloadTooLarge, Message: "the request exceeds the NATS server's max_payload", Err: err}
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, context.Canceled):
		return &item.Error{Code: item.CodeUnavailable, Message: "the request got no answer", RetryAfterSeconds: 1, Err: err}
	}
	return &item.Error{Code: item.CodeInternal, Message: "request failed", Err: err}
}
