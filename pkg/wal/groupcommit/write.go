package groupcommit

import (
	"fmt"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats.go"
)

// write is one Publish call on its way to the stream.
type write struct {
	msg  *nats.Msg // a shallow copy with its own header map
	size int       // encoded size inside a batch (headers incl. batch headers + payload)
	solo bool      // must be published on its own
	// state moves queued -> taken (by the dispatcher, into a batch) or
	// queued -> abandoned (by Publish when its ctx ends first). A taken
	// write is answered exactly once on done.
	state atomic.Int32
	done  chan result // buffered 1: the sender never blocks on an absent reader
}

const (
	writeQueued int32 = iota
	writeTaken
	writeAbandoned
)

type result struct {
	ack Ack
	err error
}

// copyMsg returns a message the client library may decorate (batch
// headers, reply subject) for one publish attempt.
func (w *write) copyMsg() *nats.Msg {
	return &nats.Msg{Subject: w.msg.Subject, Header: cloneHeader(w.msg.Header, 3), Data: w.msg.Data}
}

// cloneHeader copies h's map (the value slices are never modified) with
// room for extra keys.
func cloneHeader(h nats.Header, extra int) nats.Header {
	c := make(nats.Header, len(h)+extra)
	for k, vs := range h {
		c[k] = vs
	}
	return c
}

const (
	// batchHeaderOverhead bounds what jetstreamext adds to a batched
	// message: "Nats-Batch-Id: <22-char nuid>\r\n" (39),
	// "Nats-Batch-Sequence: <up to 4 digits>\r\n" (27) and
	// "Nats-Batch-Commit: 1\r\n" (22), rounded up.
	batchHeaderOverhead = 96
	// emptyHeaderLen is "NATS/1.0\r\n" + "\r\n", added when a message
	// without headers gets the batch headers.
	emptyHeaderLen = 12
)

// headerLen is the encoded size of h as nats.go writes it.
func headerLen(h nats.Header) int {
	if len(h) == 0 {
		return 0
	}
	n := emptyHeaderLen
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(textproto.TrimString(v)) + 4
		}
	}
	return n
}

// hasJetStreamHeader reports headers that JetStream interprets per message
// (Nats-Msg-Id, Nats-Expected-*, Nats-TTL, Nats-Rollup, ...). Such a
// write is published alone: inside an atomic batch a duplicate id or a
// failed expectation would fail the whole batch.
func hasJetStreamHeader(h nats.Header) bool {
	for k := range h {
		if len(k) >= 5 && strings.EqualFold(k[:5], "nats-") {
			return true
		}
	}
	return false
}

// subjectMatches reports whether subject (no wildcards) matches filter,
// a stream subject that may use '*' and '>'.
func subjectMatches(subject, filter string) bool {
	for {
		ft, frest, fmore := strings.Cut(filter, ".")
		st, srest, smore := strings.Cut(subject, ".")
		switch {
		case ft == ">":
			return st != ""
		case ft != "*" && ft != st:
			return false
		case st == "":
			return false
		}
		if fmore != smore {
			return false
		}
		if !fmore {
			return true
		}
		filter, subject = frest, srest
	}
}

var versionRe = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)`)

// atomicUnsupported says why atomic batches cannot be used, or "". An
// empty server version (not connected at the moment) passes: every batch
// checks again.
func atomicUnsupported(serverVersion string, allowAtomic bool) string {
	if serverVersion != "" && !serverAtLeast(serverVersion, 2, 12) {
		return fmt.Sprintf("server %q is older than 2.12", serverVersion)
	}
	if !allowAtomic {
		return "the stream does not allow atomic publish (AllowAtomicPublish)"
	}
	return ""
}

// serverAtLeast compares a server version "major.minor.patch[-pre]" with
// major.minor; an unparsable version is treated as too old.
func serverAtLeast(v string, major, minor int) bool {
	m := versionRe.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	ma, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return ma > major || ma == major && mi >= minor
}
