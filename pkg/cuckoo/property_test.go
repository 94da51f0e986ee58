package cuckoo_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/cuckoo"
)

// TestNoFalseNegatives: under any sequence of inserts and deletes of
// inserted ids (multiset semantics), every id with a positive multiplicity
// is found, also when the filter overflows, and Count is the multiset's
// size plus the deletes that hit the Bloom overflow (which cannot delete).
func TestNoFalseNegatives(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		capacity := rapid.UintRange(0, 200).Draw(rt, "capacity")
		universe := rapid.IntRange(1, 600).Draw(rt, "universe")
		f := cuckoo.New(capacity)
		held := map[string]int{}
		total := 0
		undeleted := 0
		ops := rapid.IntRange(0, 1500).Draw(rt, "ops")
		for range ops {
			if len(held) > 0 && rapid.IntRange(0, 2).Draw(rt, "op") == 0 {
				keys := make([]string, 0, len(held))
				for k := range held {
					keys = append(keys, k)
				}
				id := rapid.SampledFrom(sortedKeys(keys)).Draw(rt, "delete")
				if !f.Delete([]byte(id)) {
					undeleted++ // its copy sits in the Bloom overflow
					require.True(rt, f.NeedsRebuild())
				}
				total--
				if held[id]--; held[id] == 0 {
					delete(held, id)
				}
				continue
			}
			id := fmt.Sprintf("t.%d", rapid.IntRange(0, universe).Draw(rt, "insert"))
			if err := f.Insert([]byte(id)); err != nil {
				require.ErrorIs(rt, err, cuckoo.ErrOverflow)
			}
			held[id]++
			total++
		}
		for id := range held {
			require.True(rt, f.Lookup([]byte(id)), "false negative for %s", id)
		}
		require.Equal(rt, uint64(total+undeleted), f.Count())
		b, err := f.MarshalBinary()
		require.NoError(rt, err)
		g, err := cuckoo.Decode(b)
		require.NoError(rt, err)
		for id := range held {
			require.True(rt, g.Lookup([]byte(id)), "false negative after decode for %s", id)
		}
	})
}

func sortedKeys(keys []string) []string {
	slices.Sort(keys)
	return keys
}
