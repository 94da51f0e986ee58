package merkle_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
)

// allConfigs are the shapes the property tests run on.
var allConfigs = []merkle.Config{
	{Fanout: 16, Levels: 0}, {Fanout: 16, Levels: 1}, {Fanout: 16, Levels: 2}, {Fanout: 16, Levels: 3},
	{Fanout: 256, Levels: 0}, {Fanout: 256, Levels: 1}, {Fanout: 256, Levels: 2}, {Fanout: 256, Levels: 3},
}

func e(parent, child string) merkle.Edge { return merkle.Edge{Parent: parent, Child: child} }

// TestPathGolden pins the bucket digits (leading hex digits of
// fmix64(FNV-1a-64) of the segment: tenant e1..., orders 32..., 4711 9e...,
// a 82a2...).
func TestPathGolden(t *testing.T) {
	t.Parallel()
	id := "tenant.orders.4711"
	require.Equal(t, []merkle.Edge{
		e("", ">e"), e(">e", ">e1"), e(">e1", "tenant"),
		e("tenant", "tenant>3"), e("tenant>3", "tenant>32"), e("tenant>32", "tenant.orders"),
		e("tenant.orders", "tenant.orders>9"), e("tenant.orders>9", "tenant.orders>9e"), e("tenant.orders>9e", id),
	}, merkle.DefaultConfig.Path(id))
	require.Equal(t, []merkle.Edge{
		e("", ">e1"), e(">e1", "tenant"),
		e("tenant", "tenant>32"), e("tenant>32", "tenant.orders"),
		e("tenant.orders", "tenant.orders>9e"), e("tenant.orders>9e", id),
	}, merkle.Config{Fanout: 256, Levels: 1}.Path(id))
	require.Equal(t, []merkle.Edge{e("", "tenant"), e("tenant", "tenant.orders"), e("tenant.orders", id)},
		merkle.Config{Fanout: 16, Levels: 0}.Path(id))
}

func TestPathRootLevel(t *testing.T) {
	t.Parallel()
	require.Equal(t, []merkle.Edge{e("", ">8"), e(">8", ">82"), e(">82", "a")}, merkle.DefaultConfig.Path("a"))
	require.Equal(t, []merkle.Edge{e("", ">82"), e(">82", ">82a2"), e(">82a2", "a")},
		merkle.Config{Fanout: 256, Levels: 2}.Path("a"))
	require.Equal(t, []merkle.Edge{e("", "a")}, merkle.Config{Fanout: 16, Levels: 0}.Path("a"))
	p, ok := merkle.DefaultConfig.ParentOf("a")
	require.True(t, ok)
	require.Equal(t, ">82", p)
	p, ok = merkle.DefaultConfig.ParentOf(">8")
	require.True(t, ok)
	require.Empty(t, p)
	_, ok = merkle.DefaultConfig.ParentOf("")
	require.False(t, ok)
}

// checkPath checks the shape of Path(id) and that ParentOf walks it back up.
func checkPath(t *testing.T, c merkle.Config, id string) {
	t.Helper()
	segs := item.Segments(id)
	path := c.Path(id)
	require.Len(t, path, len(segs)*(c.Levels+1))
	require.Empty(t, path[0].Parent)
	require.Equal(t, id, path[len(path)-1].Child)
	w := 1
	if c.Fanout == 256 {
		w = 2
	}
	for i, edge := range path {
		if i > 0 {
			require.Equal(t, path[i-1].Child, edge.Parent)
		}
		level := i % (c.Levels + 1) // 0..Levels-1 buckets, Levels the real node
		real := strings.Join(segs[:i/(c.Levels+1)+1], ".")
		if level == c.Levels {
			require.Equal(t, real, edge.Child)
			require.False(t, merkle.IsBucket(edge.Child))
		} else {
			require.True(t, merkle.IsBucket(edge.Child))
			owner, digits, _ := strings.Cut(edge.Child, string(merkle.BucketSep))
			require.Equal(t, strings.Join(segs[:i/(c.Levels+1)], "."), owner)
			require.Len(t, digits, (level+1)*w)
			require.Equal(t, strings.Trim(digits, "0123456789abcdef"), "")
		}
		parent, ok := c.ParentOf(edge.Child)
		require.True(t, ok)
		require.Equal(t, edge.Parent, parent, "ParentOf(%q)", edge.Child)
	}
}

func TestParentOfMatchesPath(t *testing.T) {
	t.Parallel()
	ids := []string{"a", "a.b", "a.b.c", "b.x", "tenant.7.orders.0198-ab", "x.y.z.w.v", "A-b_c~", "1"}
	for _, c := range allConfigs {
		for _, id := range ids {
			checkPath(t, c, id)
		}
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, c := range allConfigs {
		require.NoError(t, c.Validate())
		got, err := merkle.ParseConfig(c.String())
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
	require.Equal(t, "f16l2", merkle.DefaultConfig.String())
	for _, bad := range []string{"", "f16", "f16l2x", "f016l2", "f17l2", "f16l5", "f16l-1", " f16l2"} {
		_, err := merkle.ParseConfig(bad)
		require.ErrorIs(t, err, merkle.ErrBadConfig, bad)
	}
	require.ErrorIs(t, merkle.Config{}.Validate(), merkle.ErrBadConfig)
}

func FuzzPath(f *testing.F) {
	for _, s := range []string{"a", "a.b.c", "tenant.orders.4711", "x.y", "~.!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if item.ValidateID(id) != nil {
			return
		}
		for _, c := range allConfigs {
			checkPath(t, c, id)
		}
	})
}

// TestBucketsSpreadSequentialIDs: ids that differ only in their last
// characters must not pile into one bucket (plain FNV-1a's top bits would).
func TestBucketsSpreadSequentialIDs(t *testing.T) {
	t.Parallel()
	buckets := map[string]int{}
	for i := 1; i <= 256; i++ {
		p := merkle.DefaultConfig.Path(fmt.Sprintf("k.%07d", i))
		buckets[p[len(p)-1].Parent]++
	}
	require.Greater(t, len(buckets), 150, "256 sequential ids over 256 buckets")
}
