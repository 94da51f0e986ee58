package merkletest

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/syncline/syncline/pkg/merkle"
)

// tricky are segment characters whose order differs between byte order and
// most collations (case, punctuation), to catch a store sorting Children in
// a locale's order.
const tricky = "!-0189AZ_az~"

// gen makes deterministic, hierarchical item sets: ids such as "t1",
// "t1.orders", "t1.orders.Xa-3" are items at every depth, so real nodes are
// leaves and internal nodes at once.
type gen struct {
	r       *rand.Rand
	version uint64
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))} }

func (g *gen) segment() string {
	n := 1 + g.r.IntN(5)
	var b strings.Builder
	for range n {
		b.WriteByte(tricky[g.r.IntN(len(tricky))])
	}
	return b.String()
}

func (g *gen) id() string {
	top := []string{"t0", "t1", "t2", "a", "A", "a-b", "~"}
	mid := []string{"orders", "users", "x"}
	id := top[g.r.IntN(len(top))]
	depth := g.r.IntN(4)
	if depth >= 1 {
		id += "." + mid[g.r.IntN(len(mid))]
	}
	for range depth - 1 {
		id += "." + g.segment()
	}
	return id
}

func (g *gen) leaf(id string) merkle.Hash {
	g.version++
	return merkle.LeafOf(id, g.version, fmt.Appendf(nil, "payload-%d", g.r.Uint64()))
}

// items returns about n live items.
func (g *gen) items(n int) map[string]merkle.Hash {
	out := make(map[string]merkle.Hash, n)
	for range n {
		id := g.id()
		out[id] = g.leaf(id)
	}
	return out
}

// evolve returns a copy of cur with about a fifth of the items deleted, a
// fifth rewritten and add new ones added.
func (g *gen) evolve(cur map[string]merkle.Hash, add int) map[string]merkle.Hash {
	next := make(map[string]merkle.Hash, len(cur)+add)
	for _, id := range ids(cur) {
		switch g.r.IntN(5) {
		case 0: // deleted
		case 1:
			next[id] = g.leaf(id)
		default:
			next[id] = cur[id]
		}
	}
	for range add {
		id := g.id()
		next[id] = g.leaf(id)
	}
	return next
}

// batches splits changes into batches of random sizes, in order.
func (g *gen) batches(changes []merkle.Change) [][]merkle.Change {
	var out [][]merkle.Change
	for len(changes) > 0 {
		n := 1 + g.r.IntN(len(changes))
		out = append(out, changes[:n])
		changes = changes[n:]
	}
	return out
}
