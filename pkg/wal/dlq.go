package wal

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// CopyToDLQ publishes m's payload and original headers, plus
// Sync-DLQ-Reason and Sync-DLQ-Seq (its WAL sequence), to
// <prefix>.dlq.<reason> and waits for the DLQ's acknowledgement. The copy
// carries Nats-Msg-Id "wal-<seq>", so copying the same message twice (a
// redelivery after a failed Term) stores it once.
func CopyToDLQ(ctx context.Context, js jetstream.JetStream, n Names, m *Msg, reason string) (*jetstream.PubAck, error) {
	reason = SanitizeReason(reason)
	h := make(nats.Header, len(m.Header())+3)
	for k, v := range m.Header() {
		h[k] = append([]string(nil), v...)
	}
	h.Set(HeaderDLQReason, reason)
	h.Set(HeaderDLQSeq, strconv.FormatUint(m.Seq, 10))
	h.Set(HeaderMsgID, "wal-"+strconv.FormatUint(m.Seq, 10))
	if orig := m.Header().Get(HeaderMsgID); orig != "" {
		h.Set(HeaderDLQMsgID, orig)
	}
	out := &nats.Msg{Subject: n.DLQSubject(reason), Header: h, Data: m.Data()}
	ack, err := js.PublishMsg(ctx, out)
	if err != nil {
		return nil, fmt.Errorf("wal: dlq copy of seq %d: %w", m.Seq, err)
	}
	return ack, nil
}
