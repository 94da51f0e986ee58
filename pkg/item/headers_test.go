package item_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/item"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"1", 1, true},
		{"42", 42, true},
		{"9223372036854775807", item.MaxVersion, true},
		{"", 0, false},
		{"0", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"007", 0, false},
		{"-1", 0, false},
		{"-0", 0, false},
		{"+1", 0, false},
		{"9223372036854775808", 0, false},  // 2^63
		{"18446744073709551615", 0, false}, // 2^64-1
		{"18446744073709551616", 0, false}, // 2^64
		{"99999999999999999999", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1 2", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"１", 0, false}, // fullwidth digit
	}
	for _, tc := range cases {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			t.Parallel()
			v, err := item.ParseVersion(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, item.ErrInvalidVersion)
				require.Zero(t, v)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, v)
		})
	}
}

func TestValidateVersion(t *testing.T) {
	t.Parallel()
	require.NoError(t, item.ValidateVersion(1))
	require.NoError(t, item.ValidateVersion(item.MaxVersion))
	require.ErrorIs(t, item.ValidateVersion(0), item.ErrInvalidVersion)
	require.ErrorIs(t, item.ValidateVersion(item.MaxVersion+1), item.ErrInvalidVersion)
}

func TestParseAfterSeq(t *testing.T) {
	t.Parallel()
	v, err := item.ParseAfterSeq("17")
	require.NoError(t, err)
	require.EqualValues(t, 17, v)
	for _, s := range []string{"", "0", "-1", "x", "9223372036854775808"} {
		_, err := item.ParseAfterSeq(s)
		require.ErrorIs(t, err, item.ErrInvalidHeader, s)
	}
}

func TestParseState(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in string
		ok bool
	}{
		{"a", true},
		{"Active_1.2-x", true},
		{strings.Repeat("s", item.MaxStateLen), true},
		{"", false},
		{strings.Repeat("s", item.MaxStateLen+1), false},
		{"a b", false},
		{" a", false},
		{"a/b", false},
		{"a*", false},
		{"a>", false},
		{"é", false},
		{"a\x00", false},
		{"a:b", false},
	}
	for _, tc := range cases {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			t.Parallel()
			got, err := item.ParseState(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, item.ErrInvalidHeader)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.in, got)
		})
	}
}

func TestParseCacheTTL(t *testing.T) {
	t.Parallel()
	maxSecs := int(item.MaxCacheTTL / time.Second)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{"60", time.Minute, true},
		{"0060", time.Minute, true}, // leading zeros are plain delta-seconds
		{strconv.Itoa(maxSecs), item.MaxCacheTTL, true},
		{strconv.Itoa(maxSecs + 1), 0, false},
		{"0", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1s", 0, false},
		{"1.5", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"9999999999", 0, false},
		{"99999999999999999999999", 0, false},
	}
	for _, tc := range cases {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			t.Parallel()
			got, err := item.ParseCacheTTL(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, item.ErrInvalidHeader)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestResolveContentType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		declared string
		payload  string
		want     string
		code     item.Code
	}{
		{"sniff object", "", `{"a":1}`, item.ContentTypeJSON, ""},
		{"sniff array with spaces", "", " \n[1,2]\t", item.ContentTypeJSON, ""},
		{"sniff scalar is binary", "", `"str"`, item.ContentTypeBinary, ""},
		{"sniff number is binary", "", `12`, item.ContentTypeBinary, ""},
		{"sniff broken object", "", `{"a":`, item.ContentTypeBinary, ""},
		{"sniff empty", "", ``, item.ContentTypeBinary, ""},
		{"sniff binary", "", "\x00\x01", item.ContentTypeBinary, ""},
		{"declared json", "application/json", `{"a":1}`, item.ContentTypeJSON, ""},
		{"declared json scalar", "application/json", `true`, item.ContentTypeJSON, ""},
		{"declared json params case", "Application/JSON; charset=utf-8", `[]`, item.ContentTypeJSON, ""},
		{"declared json padded", "  application/json  ", `[]`, item.ContentTypeJSON, ""},
		{"declared json invalid", "application/json", `{"a":`, "", item.CodeInvalidJSON},
		{"declared json empty", "application/json", ``, "", item.CodeInvalidJSON},
		{"declared binary keeps json", "application/octet-stream", `{"a":1}`, item.ContentTypeBinary, ""},
		{"declared binary upper", "APPLICATION/OCTET-STREAM", "x", item.ContentTypeBinary, ""},
		{"declared other", "text/plain", "x", "", item.CodeInvalidHeader},
		{"space inside type", "application/ json", `{}`, "", item.CodeInvalidHeader},
		{"space inside type 2", "appli cation/json", `{}`, "", item.CodeInvalidHeader},
		{"unicode", "applicatıon/json", `{}`, "", item.CodeInvalidHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := item.ResolveContentType(tc.declared, []byte(tc.payload))
			if tc.code != "" {
				require.Error(t, err)
				require.Equal(t, tc.code, item.CodeOf(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			if tc.declared == "" {
				require.Equal(t, tc.want, item.SniffContentType([]byte(tc.payload)))
			}
		})
	}
}

func TestErrorBehaviour(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	e := &item.Error{Code: item.CodeUnavailable, Message: "wal full", RetryAfterSeconds: 2, Err: cause}
	require.ErrorIs(t, e, item.ErrUnavailable)
	require.ErrorIs(t, e, cause)
	require.NotErrorIs(t, e, item.ErrInvalidID)
	require.Equal(t, "unavailable: wal full: boom", e.Error())
	require.Equal(t, "invalid_id: x", item.Errorf(item.CodeInvalidID, "x").Error())
	require.Equal(t, item.CodeInternal, item.CodeOf(cause))
	require.Equal(t, item.CodeNotFound, item.CodeOf(item.ErrNotFound))
	for code, status := range map[item.Code]int{
		item.CodeInvalidID: 400, item.CodeInvalidVersion: 400, item.CodeInvalidHeader: 400, item.CodeInvalidJSON: 400,
		item.CodeNotFound: 404, item.CodePayloadTooLarge: 413, item.CodeUnavailable: 503, item.CodeInternal: 500, "weird": 500,
	} {
		require.Equal(t, status, code.Status(), code)
	}
	require.Equal(t, item.CodeInvalidJSON, item.CodeForStatus("invalid_json"))
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1", "0", "01", "-1", "9223372036854775807", "9223372036854775808", " 1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := item.ParseVersion(s)
		if err != nil {
			require.Equal(t, item.CodeInvalidVersion, item.CodeOf(err))
			require.Zero(t, v)
			return
		}
		require.NoError(t, item.ValidateVersion(v))
		// Accepted text is canonical: it round-trips byte for byte.
		require.Equal(t, s, strconv.FormatUint(v, 10))
	})
}

func FuzzParseState(f *testing.F) {
	for _, s := range []string{"a", "", "a b", "Active_1.2-x", strings.Repeat("s", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := item.ParseState(s)
		if err != nil {
			require.Equal(t, item.CodeInvalidHeader, item.CodeOf(err))
			return
		}
		require.Equal(t, s, got)
		require.NotEmpty(t, got)
		require.LessOrEqual(t, len(got), item.MaxStateLen)
		require.Equal(t, -1, strings.IndexFunc(got, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-')
		}))
	})
}

func FuzzParseCacheTTL(f *testing.F) {
	for _, s := range []string{"1", "0", "31536000", "31536001", "-5", "1s", "000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := item.ParseCacheTTL(s)
		if err != nil {
			require.Equal(t, item.CodeInvalidHeader, item.CodeOf(err))
			require.Zero(t, d)
			return
		}
		require.GreaterOrEqual(t, d, time.Second)
		require.LessOrEqual(t, d, item.MaxCacheTTL)
		require.Zero(t, d%time.Second)
		n, perr := strconv.Atoi(s)
		require.NoError(t, perr)
		require.Equal(t, time.Duration(n)*time.Second, d)
	})
}

func FuzzResolveContentType(f *testing.F) {
	f.Add("", []byte(`{"a":1}`))
	f.Add("application/json", []byte(`[`))
	f.Add("application/octet-stream; x=y", []byte{0, 1})
	f.Add("Text/Plain", []byte("hi"))
	f.Fuzz(func(t *testing.T, declared string, payload []byte) {
		ct, err := item.ResolveContentType(declared, payload)
		if err != nil {
			code := item.CodeOf(err)
			require.Contains(t, []item.Code{item.CodeInvalidJSON, item.CodeInvalidHeader}, code)
			if code == item.CodeInvalidJSON {
				require.False(t, json.Valid(payload))
			}
			return
		}
		require.Contains(t, []string{item.ContentTypeJSON, item.ContentTypeBinary}, ct)
		if ct == item.ContentTypeJSON {
			require.True(t, json.Valid(payload))
		}
		sniffed := item.SniffContentType(payload)
		if sniffed == item.ContentTypeJSON {
			require.True(t, json.Valid(payload))
			trimmed := strings.TrimLeft(string(payload), " \t\r\n")
			require.True(t, trimmed[0] == '{' || trimmed[0] == '[')
		}
		if strings.Trim(declared, " \t") == "" {
			require.Equal(t, sniffed, ct)
		}
	})
}
