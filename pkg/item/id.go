package item

import "strings"

// MaxIDLen is the longest id in bytes.
const MaxIDLen = 1024

// ValidateID checks id against DESIGN.md §1 and returns a *Error with
// CodeInvalidID naming the first problem found.
func ValidateID(id string) error {
	if len(id) == 0 {
		return Errorf(CodeInvalidID, "id is empty")
	}
	if len(id) > MaxIDLen {
		return Errorf(CodeInvalidID, "id is %d bytes, the limit is %d", len(id), MaxIDLen)
	}
	segStart := 0
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c < 0x21 || c > 0x7e:
			return Errorf(CodeInvalidID, "id has a non-printable or whitespace byte 0x%02x at %d", c, i)
		case c == '*' || c == '>' || c == '\\':
			return Errorf(CodeInvalidID, "id has a forbidden character %q at %d", c, i)
		case c == '.':
			if i == segStart {
				return Errorf(CodeInvalidID, "id has an empty segment at %d", i)
			}
			segStart = i + 1
		}
	}
	if segStart == len(id) {
		return Errorf(CodeInvalidID, "id ends with a dot")
	}
	return nil
}

// ValidatePrefix checks a hierarchy prefix: the empty prefix (everything) or a
// valid id.
func ValidatePrefix(p string) error {
	if p == "" {
		return nil
	}
	return ValidateID(p)
}

// Segments splits a valid id into its dot-separated segments.
func Segments(id string) []string { return strings.Split(id, ".") }

// Covers reports whether prefix covers id on segment boundaries: "a.b" covers
// "a.b" and "a.b.x" but never "a.bc". The empty prefix covers everything.
func Covers(prefix, id string) bool {
	if prefix == "" {
		return true
	}
	if !strings.HasPrefix(id, prefix) {
		return false
	}
	return len(id) == len(prefix) || id[len(prefix)] == '.'
}
