package wal

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// isPublishControl reports headers that steer JetStream's handling of a
// publish (atomic batch markers, expectations, TTLs, rollups) rather than
// describe the write: copied into the DLQ they would make the server
// refuse or misfile the copy (the DLQ does not allow atomic publish, and a
// stored batch message keeps its Nats-Batch-* headers).
func isPublishControl(k string) bool {
	ck := http.CanonicalHeaderKey(k)
	return strings.HasPrefix(ck, "Nats-Batch-") || strings.HasPrefix(ck, "Nats-Expected-") ||
		ck == "Nats-Ttl" || ck == "Nats-Rollup" || ck == "Nats-Required-Api-Level"
}

// CopyToDLQ publishes m's payload and original headers, plus
// Sync-DLQ-Reason and Sync-DLQ-Seq (its WAL sequence), to
// <prefix>.dlq.<reason> and waits for the DLQ's acknowledgement. The copy
// carries Nats-Msg-Id "wal-<seq>", so copying the same message twice (a
// redelivery after a failed Term) stores it once.
func CopyToDLQ(ctx context.Context, js jetstream.JetStream, n Names, m *Msg, reason string) (*jetstream.PubAck, error) {
	reason = SanitizeReason(reason)
	h := make(nats.Header, len(m.Header())+3)
	for k, v := range m.Header() {
		if isPublishControl(k) {
			continue
		}
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
