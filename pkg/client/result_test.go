package client

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzDecodeResult(f *testing.F) {
	f.Add([]byte(`{"id":"a.b","version":3,"seq":3}`))
	f.Add([]byte(`{"id":"q\"x","version":1,"seq":9}`))
	f.Add([]byte(`{"seq":2,"id":"a","version":1}`))
	f.Add([]byte(`{"id":"a\/b","version":1,"seq":2}`))
	f.Add([]byte(`{"id":"a","version":007,"seq":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeResult(data)
		var want Result
		jerr := json.Unmarshal(data, &want)
		if jerr != nil || want.Seq == 0 {
			if r, ok := fastResult(data); ok {
				t.Fatalf("fast path accepted %q as %+v, encoding/json does not", data, r)
			}
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		require.Equal(t, want, got)
	})
}
