package merkle_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/merkle"
)

// Golden vectors: other-language implementations check themselves against
// these (computed independently with Python's hashlib and struct).
const (
	goldenLeaf1 = "0edb2de9299c9d5efe0927401f348512edae3a86aa062f0493ef741cf31e8a99" // tenant.orders.4711 v42 {"total":12.5}
	goldenLeaf2 = "435f2bf2edb40f7e27e51a7496ba502288a7749bf8221eefad05bda1bb1d915f" // a v1 empty payload
	goldenSum   = "513a59db1651addc25ef41b4b5eed5347556af21a2294df340f531beae3c1bf9" // goldenLeaf2 + goldenLeaf1, lane-wise
)

func TestLeafHashGolden(t *testing.T) {
	t.Parallel()
	l1 := merkle.LeafOf("tenant.orders.4711", 42, []byte(`{"total":12.5}`))
	require.Equal(t, goldenLeaf1, l1.String())
	l2 := merkle.LeafOf("a", 1, nil)
	require.Equal(t, goldenLeaf2, l2.String())
	require.Equal(t, goldenSum, l2.Add(l1).String())
	require.Equal(t, merkle.LeafHash("a", 1, merkle.PayloadSum([]byte{})), l2)
}

func TestLeafHashSeparatesFields(t *testing.T) {
	t.Parallel()
	base := merkle.LeafOf("a.b", 1, []byte("x"))
	require.NotEqual(t, base, merkle.LeafOf("a.b", 2, []byte("x")))
	require.NotEqual(t, base, merkle.LeafOf("a.c", 1, []byte("x")))
	require.NotEqual(t, base, merkle.LeafOf("a.b", 1, []byte("y")))
}

func TestLanes(t *testing.T) {
	t.Parallel()
	h := merkle.FromLanes([merkle.Lanes]uint32{1, 2, 3, 4, 5, 6, 7, 0xffffffff})
	require.Equal(t, uint32(0xffffffff), h.Lane(7))
	require.Equal(t, [merkle.Lanes]uint32{1, 2, 3, 4, 5, 6, 7, 0xffffffff}, h.LanesOf())
	one := merkle.FromLanes([merkle.Lanes]uint32{7: 1})
	require.Equal(t, uint32(0), h.Add(one).Lane(7), "lanes wrap mod 2^32 without carrying")
	require.Equal(t, uint32(1), h.Add(one).Lane(0))
}

func genHash(t *rapid.T, label string) merkle.Hash {
	var h merkle.Hash
	copy(h[:], rapid.SliceOfN(rapid.Byte(), merkle.Size, merkle.Size).Draw(t, label))
	return h
}

func TestAddSubInverse(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := genHash(t, "a"), genHash(t, "b"), genHash(t, "c")
		require.Equal(t, a, a.Add(b).Sub(b))
		require.Equal(t, a, a.Sub(b).Add(b))
		require.Equal(t, a.Add(b), b.Add(a))
		require.Equal(t, a.Add(b).Add(c), a.Add(b.Add(c)))
		require.Equal(t, a, a.Add(merkle.Zero))
		require.True(t, a.Sub(a).IsZero())
	})
}

func TestParseHash(t *testing.T) {
	t.Parallel()
	h, err := merkle.ParseHash(goldenLeaf1)
	require.NoError(t, err)
	require.Equal(t, goldenLeaf1, h.String())
	h2, err := merkle.ParseHash(strings.ToUpper(goldenLeaf1))
	require.NoError(t, err)
	require.Equal(t, h, h2)
	for _, bad := range []string{"", "00", goldenLeaf1 + "00", "zz" + goldenLeaf1[2:]} {
		_, err := merkle.ParseHash(bad)
		require.ErrorIs(t, err, merkle.ErrBadHash, bad)
	}
	_, err = merkle.HashFromBytes(make([]byte, 31))
	require.ErrorIs(t, err, merkle.ErrBadHash)
	got, err := merkle.HashFromBytes(h[:])
	require.NoError(t, err)
	require.Equal(t, h, got)
}

func FuzzParseHash(f *testing.F) {
	f.Add(goldenLeaf1)
	f.Add(strings.ToUpper(goldenSum))
	f.Add("")
	f.Add(strings.Repeat("0", 63) + "g")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := merkle.ParseHash(s)
		if err != nil {
			if !errors.Is(err, merkle.ErrBadHash) {
				t.Fatalf("error %v does not wrap ErrBadHash", err)
			}
			if !h.IsZero() {
				t.Fatalf("error with a non-zero hash %s", h)
			}
			return
		}
		if !strings.EqualFold(h.String(), s) {
			t.Fatalf("ParseHash(%q) = %s", s, h)
		}
		back, err := merkle.ParseHash(h.String())
		if err != nil || back != h {
			t.Fatalf("round trip of %s: %v %v", h, back, err)
		}
	})
}
