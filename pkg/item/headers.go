package item

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Header names of the client API and the WAL (DESIGN.md §2).
const (
	HeaderVersion     = "Sync-Version"
	HeaderState       = "Sync-State"
	HeaderCacheTTL    = "Sync-Cache-TTL"
	HeaderContentType = "Content-Type"
	HeaderMsgID       = "Nats-Msg-Id"
	HeaderAfterSeq    = "Sync-After-Seq"
	HeaderConsistency = "Sync-Consistency"
	HeaderSource      = "Sync-Source"
	HeaderRetryAfter  = "Retry-After"
)

// Content types Syncline stores.
const (
	ContentTypeJSON   = "application/json"
	ContentTypeBinary = "application/octet-stream"
)

// MaxVersion is the largest version (a SQL bigint).
const MaxVersion = 1<<63 - 1

// MaxCacheTTL bounds Sync-Cache-TTL (one year).
const MaxCacheTTL = 365 * 24 * time.Hour

// MaxStateLen is the longest state tag.
const MaxStateLen = 64

// ParseVersion parses a Sync-Version header value: decimal, 1..2^63-1, no
// sign, no spaces, no leading zeros beyond a single digit.
func ParseVersion(s string) (uint64, error) {
	if s == "" || len(s) > 19 {
		return 0, Errorf(CodeInvalidVersion, "version %q is not a decimal from 1 to 2^63-1", clip(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, Errorf(CodeInvalidVersion, "version %q is not a decimal from 1 to 2^63-1", clip(s))
		}
	}
	if s[0] == '0' {
		return 0, Errorf(CodeInvalidVersion, "version %q is zero or has leading zeros", clip(s))
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 || v > MaxVersion {
		return 0, Errorf(CodeInvalidVersion, "version %q is out of range 1..2^63-1", clip(s))
	}
	return v, nil
}

// ValidateVersion checks a version already in numeric form.
func ValidateVersion(v uint64) error {
	if v == 0 || v > MaxVersion {
		return Errorf(CodeInvalidVersion, "version %d is out of range 1..2^63-1", v)
	}
	return nil
}

// ParseState validates a Sync-State value: 1..64 chars of [A-Za-z0-9_.-].
func ParseState(s string) (string, error) {
	if len(s) == 0 || len(s) > MaxStateLen {
		return "", Errorf(CodeInvalidHeader, "Sync-State must be 1..%d characters", MaxStateLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return "", Errorf(CodeInvalidHeader, "Sync-State has a character outside [A-Za-z0-9_.-] at %d", i)
		}
	}
	return s, nil
}

// ParseCacheTTL parses Sync-Cache-TTL: whole seconds, 1..MaxCacheTTL.
func ParseCacheTTL(s string) (time.Duration, error) {
	if s == "" || len(s) > 9 {
		return 0, Errorf(CodeInvalidHeader, "Sync-Cache-TTL %q is not whole seconds", clip(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, Errorf(CodeInvalidHeader, "Sync-Cache-TTL %q is not whole seconds", clip(s))
		}
	}
	n, _ := strconv.Atoi(s)
	d := time.Duration(n) * time.Second
	if n == 0 || d > MaxCacheTTL {
		return 0, Errorf(CodeInvalidHeader, "Sync-Cache-TTL must be 1..%d seconds", int(MaxCacheTTL/time.Second))
	}
	return d, nil
}

// ParseAfterSeq parses Sync-After-Seq: a stream sequence, 1..2^63-1.
func ParseAfterSeq(s string) (uint64, error) {
	v, err := ParseVersion(s)
	if err != nil {
		return 0, Errorf(CodeInvalidHeader, "Sync-After-Seq %q is not a sequence number", clip(s))
	}
	return v, nil
}

// ResolveContentType returns the content type to store for payload: the
// declared one when given (JSON must then be valid JSON), else sniffed.
func ResolveContentType(declared string, payload []byte) (string, error) {
	switch normalizeMediaType(declared) {
	case "":
		return SniffContentType(payload), nil
	case ContentTypeJSON:
		if !json.Valid(payload) {
			return "", Errorf(CodeInvalidJSON, "payload declared %s is not valid JSON", ContentTypeJSON)
		}
		return ContentTypeJSON, nil
	case ContentTypeBinary:
		return ContentTypeBinary, nil
	default:
		return "", Errorf(CodeInvalidHeader, "Content-Type %q is not %s or %s", clip(declared), ContentTypeJSON, ContentTypeBinary)
	}
}

// SniffContentType returns application/json for a valid JSON object or array,
// else application/octet-stream.
func SniffContentType(payload []byte) string {
	for _, c := range payload {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		if (c == '{' || c == '[') && json.Valid(payload) {
			return ContentTypeJSON
		}
		return ContentTypeBinary
	}
	return ContentTypeBinary
}

// normalizeMediaType lowercases ASCII, drops parameters and trims the optional
// whitespace around the media type ("Application/JSON; charset=utf-8" ->
// "application/json"). Whitespace inside the type is kept, so that
// "application/ json" stays invalid instead of being repaired.
func normalizeMediaType(s string) string {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	s = strings.Trim(s, " \t")
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// clip shortens untrusted text before it is echoed in an error message.
func clip(s string) string {
	const n = 64
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
