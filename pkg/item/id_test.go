package item_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/item"
)

func TestValidateID(t *testing.T) {
	t.Parallel()
	max := strings.Repeat("a", item.MaxIDLen)
	cases := []struct {
		name string
		id   string
		ok   bool
	}{
		{"single segment", "a", true},
		{"hierarchy", "tenant.orders.4711", true},
		{"every printable but forbidden", "!\"#$%&'()+,-/0123456789:;<=?@AZ[]^_`az{|}~", true},
		{"max length", max, true},
		{"max length with dots", strings.Repeat("ab.", item.MaxIDLen/3) + "x", true},
		{"empty", "", false},
		{"too long", max + "a", false},
		{"leading dot", ".a", false},
		{"trailing dot", "a.", false},
		{"double dot", "a..b", false},
		{"only a dot", ".", false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"newline", "a\nb", false},
		{"carriage return", "a\rb", false},
		{"nul", "a\x00b", false},
		{"del", "a\x7fb", false},
		{"utf-8", "caf\u00e9", false},
		{"high byte", "a\xffb", false},
		{"star token", "a.*", false},
		{"star inside", "a*b", false},
		{"gt token", "a.>", false},
		{"gt inside", "a>b", false},
		{"backslash", `a\b`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := item.ValidateID(tc.id)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, item.ErrInvalidID), "got %v", err)
			require.Equal(t, item.CodeInvalidID, item.CodeOf(err))
			require.Equal(t, 400, item.CodeOf(err).Status())
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	t.Parallel()
	require.NoError(t, item.ValidatePrefix(""))
	require.NoError(t, item.ValidatePrefix("a.b"))
	require.ErrorIs(t, item.ValidatePrefix("a."), item.ErrInvalidID)
}

func TestCoversAndSegments(t *testing.T) {
	t.Parallel()
	require.True(t, item.Covers("", "a"))
	require.True(t, item.Covers("a.b", "a.b"))
	require.True(t, item.Covers("a.b", "a.b.c"))
	require.False(t, item.Covers("a.b", "a.bc"))
	require.False(t, item.Covers("a.b", "a"))
	require.Equal(t, []string{"a", "b", "c"}, item.Segments("a.b.c"))
}

// isSubjectSuffix is an independent statement of what NATS accepts as the
// literal tail of a subject: non-empty tokens, no whitespace, no wildcards.
func isSubjectSuffix(id string) bool {
	if id == "" {
		return false
	}
	for _, tok := range strings.Split(id, ".") {
		if tok == "" || tok == "*" || tok == ">" {
			return false
		}
		if strings.ContainsAny(tok, " \t\r\n\f\v\x00") {
			return false
		}
	}
	return true
}

func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"a", "a.b", ".a", "a.", "a..b", "a*b", "a.>", `a\b`, "a b", "caf\u00e9", strings.Repeat("x", 1025)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := item.ValidateID(id)
		if err != nil {
			require.Equal(t, item.CodeInvalidID, item.CodeOf(err))
			return
		}
		require.LessOrEqual(t, len(id), item.MaxIDLen)
		require.True(t, isSubjectSuffix(id), "accepted %q", id)
		require.True(t, server.IsValidLiteralSubject("sync.put."+id), "accepted %q is not a literal subject", id)
		require.NotContains(t, id, `\`)
		require.NotContains(t, id, "*")
		require.NotContains(t, id, ">")
		require.Equal(t, id, strings.Join(item.Segments(id), "."))
		require.True(t, item.Covers(id, id))
	})
}
