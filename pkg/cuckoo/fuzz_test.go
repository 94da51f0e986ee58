package cuckoo_test

import (
	"bytes"
	"testing"

	"github.com/syncline/syncline/pkg/cuckoo"
)

// FuzzDecode: decoding arbitrary bytes never panics, and whatever decodes
// re-encodes to the same bytes. Each input is also tried with a fresh
// checksum, so that the fuzzer reaches the checks behind it.
func FuzzDecode(f *testing.F) {
	for _, tc := range []struct {
		capacity uint
		n        int
	}{{0, 0}, {10, 5}, {100, 110}, {20, 400}} {
		g, _ := filled(f, tc.capacity, tc.n)
		b, err := g.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("SLCF\x01\x01\x10\x04\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, reseal(data)} {
			g, err := cuckoo.Decode(in)
			if err != nil {
				continue
			}
			out, err := g.MarshalBinary()
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(in, out) {
				t.Fatalf("re-encoding differs:\n in %x\nout %x", in, out)
			}
			g.Lookup([]byte("a.b"))
			_ = g.Insert([]byte("a.b"))
			g.Delete([]byte("a.b"))
		}
	})
}
