package wal

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// W3C trace context headers. A write's trace context travels from the
// client's request through the WAL message to the writer (and into DLQ
// copies, which keep the original headers), so one write can be followed
// across processes in logs and by any OpenTelemetry-aware consumer.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// headerCarrier adapts nats.Header to OpenTelemetry's TextMapCarrier,
// matching names case-insensitively as HTTP does.
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string {
	if v := nats.Header(c).Get(key); v != "" {
		return v
	}
	for k, v := range c {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (c headerCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }

func (c headerCarrier) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	return out
}

var traceContext = propagation.TraceContext{}

// CarryTrace copies the trace context of a request (from) into a WAL
// message's headers (to). A request without a valid traceparent starts a
// new trace, so every write can be followed. It returns the trace id.
func CarryTrace(from, to nats.Header) string {
	ctx := traceContext.Extract(context.Background(), headerCarrier(from))
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		var tid trace.TraceID
		var sid trace.SpanID
		_, _ = rand.Read(tid[:])
		_, _ = rand.Read(sid[:])
		sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
		ctx = trace.ContextWithSpanContext(ctx, sc)
	}
	traceContext.Inject(ctx, headerCarrier(to))
	return sc.TraceID().String()
}

// TraceID returns the trace id a message carries, or "".
func TraceID(h nats.Header) string {
	sc := trace.SpanContextFromContext(traceContext.Extract(context.Background(), headerCarrier(h)))
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// InjectTrace writes the trace context of ctx (an OpenTelemetry span the
// caller is in), if any, into h: the Go client uses it so that a write's
// trace starts in the application.
func InjectTrace(ctx context.Context, h nats.Header) {
	if trace.SpanContextFromContext(ctx).IsValid() {
		traceContext.Inject(ctx, headerCarrier(h))
	}
}
