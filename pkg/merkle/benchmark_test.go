package merkle_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/syncline/syncline/pkg/merkle"
)

// The benchmarks work on N = 1M items "tenant.<t>.orders.<uuid>", 10
// tenants. Their setup (ids, leaves, trees of 1M) runs once per top-level
// benchmark, outside the timers, and is shared by its sub-benchmarks.
const (
	benchN       = 1_000_000
	benchTenants = 10
)

var benchConfigs = []merkle.Config{{Fanout: 16, Levels: 2}, {Fanout: 16, Levels: 3}}

// benchData is the benchmarks' item set, made on first use.
type benchData struct {
	ids    []string
	leaves map[string]merkle.Hash
}

func (d *benchData) get() ([]string, map[string]merkle.Hash) {
	if d.ids == nil {
		d.ids, d.leaves = benchItems()
	}
	return d.ids, d.leaves
}

// benchItems returns the ids (in a fixed order) and their leaves.
func benchItems() ([]string, map[string]merkle.Hash) {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, benchN)
	leaves := make(map[string]merkle.Hash, benchN)
	for i := range ids {
		hi, lo := r.Uint64(), r.Uint64()
		id := fmt.Sprintf("tenant.%d.orders.%08x-%04x-%04x-%04x-%012x", i%benchTenants,
			hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
		ids[i] = id
		leaves[id] = merkle.LeafOf(id, 1, []byte(id))
	}
	return ids, leaves
}

func benchStore(b *testing.B, cfg merkle.Config, leaves map[string]merkle.Hash) *merkle.MemStore {
	b.Helper()
	st := merkle.NewMemStore()
	if err := st.Apply(context.Background(), cfg.Build(leaves)); err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkBuild builds the tree of 1M leaves from scratch (Build + Apply to
// an empty MemStore); the baseline "rootof" is the flat sum of the same
// leaves, the least any root computation costs.
func BenchmarkBuild(b *testing.B) {
	var data benchData
	for _, cfg := range benchConfigs {
		b.Run(cfg.String(), func(b *testing.B) {
			_, leaves := data.get()
			edges := 0
			for b.Loop() {
				u := cfg.Build(leaves)
				st := merkle.NewMemStore()
				if err := st.Apply(context.Background(), u); err != nil {
					b.Fatal(err)
				}
				edges = len(u.Edges)
			}
			b.ReportMetric(float64(edges), "edges")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchN, "ns/leaf")
		})
	}
	b.Run("rootof", func(b *testing.B) {
		_, leaves := data.get()
		for b.Loop() {
			_ = merkle.RootOf(leaves)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchN, "ns/leaf")
	})
}

// BenchmarkApply applies 100k updates of existing items as deltas, in
// writer batches of several sizes, to the tree of 1M. edges/write is what a
// write costs a writer: edge rows touched per update.
func BenchmarkApply(b *testing.B) {
	const updates = 100_000
	var data benchData
	for _, cfg := range benchConfigs {
		var st *merkle.MemStore
		var cur map[string]merkle.Hash
		version := uint64(1)
		for _, batch := range []int{1, 1000, updates} {
			b.Run(fmt.Sprintf("%s/batch=%d", cfg, batch), func(b *testing.B) {
				ids, leaves := data.get()
				if st == nil {
					st, cur = benchStore(b, cfg, leaves), maps.Clone(leaves)
				}
				edges := 0
				for b.Loop() {
					b.StopTimer()
					version++
					changes := make([]merkle.Change, updates)
					for i := range changes {
						id := ids[(i*7919+int(version))%benchN]
						nl := merkle.LeafOf(id, version, nil)
						changes[i] = merkle.Change{ID: id, Old: cur[id], New: nl}
						cur[id] = nl
					}
					b.StartTimer()
					edges = 0
					for start := 0; start < updates; start += batch {
						u := cfg.Deltas(changes[start:min(start+batch, updates)])
						edges += len(u.Edges)
						if err := st.Apply(context.Background(), u); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(edges)/updates, "edges/write")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/updates, "ns/write")
			})
		}
	}
}

// diffFixture is two trees of 1M items and their leaves as plain maps,
// with k differences between them.
type diffFixture struct {
	cfg    merkle.Config
	a, b   *merkle.MemStore
	la, lb map[string]merkle.Hash
	k      int
	undo   []merkle.Change
}

// diffFixtures makes the fixture of one Config on first use and moves it to
// k differences.
type diffFixtures struct {
	data benchData
	f    *diffFixture
}

func (d *diffFixtures) get(b *testing.B, cfg merkle.Config, k int) *diffFixture {
	b.Helper()
	ids, leaves := d.data.get()
	if d.f == nil || d.f.cfg != cfg {
		d.f = nil // let the previous Config's trees go before building
		d.f = &diffFixture{cfg: cfg, a: benchStore(b, cfg, leaves), b: benchStore(b, cfg, leaves),
			la: leaves, lb: maps.Clone(leaves)}
	}
	if d.f.k != k {
		d.f.applyB(b, d.f.undo)
		d.f.undo = d.f.perturb(b, ids, k)
		d.f.k = k
	}
	return d.f
}

// perturb makes k differences between a and b (8 in 10 changed leaves, 1
// missing from b, 1 only in b) and returns the changes that undo them.
func (f *diffFixture) perturb(b *testing.B, ids []string, k int) []merkle.Change {
	b.Helper()
	r := rand.New(rand.NewPCG(uint64(k), 7))
	var changes []merkle.Change
	for i, pick := range r.Perm(len(ids))[:k] {
		id := ids[pick]
		old := f.lb[id]
		var nl merkle.Hash
		switch i % 10 {
		case 8: // deleted from b
		case 9: // a new item in b only
			id = fmt.Sprintf("tenant.%d.orders.new-%d", i%benchTenants, i)
			old = merkle.Zero
			nl = merkle.LeafOf(id, 1, nil)
		default:
			nl = merkle.LeafOf(id, 2, nil)
		}
		changes = append(changes, merkle.Change{ID: id, Old: old, New: nl})
	}
	f.applyB(b, changes)
	undo := make([]merkle.Change, len(changes))
	for i, ch := range changes {
		undo[i] = merkle.Change{ID: ch.ID, Old: ch.New, New: ch.Old}
	}
	return undo
}

func (f *diffFixture) applyB(b *testing.B, changes []merkle.Change) {
	b.Helper()
	if err := f.b.Apply(context.Background(), f.cfg.Deltas(changes)); err != nil {
		b.Fatal(err)
	}
	for _, ch := range changes {
		if ch.New.IsZero() {
			delete(f.lb, ch.ID)
		} else {
			f.lb[ch.ID] = ch.New
		}
	}
}

// fullCompare is the baseline: read every leaf of both sides and compare.
func fullCompare(a, b map[string]merkle.Hash) []string {
	var out []string
	for id, ha := range a {
		if hb, ok := b[id]; !ok || hb != ha {
			out = append(out, id)
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// BenchmarkDiff finds k differences among 1M items with Diff, and with the
// baseline that compares every leaf ("full").
func BenchmarkDiff(b *testing.B) {
	var fixtures diffFixtures
	for _, cfg := range benchConfigs {
		for _, k := range []int{1, 100, 10_000} {
			b.Run(fmt.Sprintf("%s/k=%d/merkle", cfg, k), func(b *testing.B) {
				f := fixtures.get(b, cfg, k)
				fullReads := float64(len(f.la) + len(f.lb))
				var res merkle.DiffResult
				for b.Loop() {
					var err error
					if res, err = merkle.Diff(context.Background(), f.a, f.b); err != nil {
						b.Fatal(err)
					}
				}
				if len(res.Differences) != k {
					b.Fatalf("found %d differences, want %d", len(res.Differences), k)
				}
				reads := float64(res.A.NodeReads() + res.B.NodeReads())
				entries := float64(res.A.Entries + res.B.Entries)
				b.ReportMetric(reads, "node-reads/op")
				b.ReportMetric(entries, "entries/op")
				b.ReportMetric(fullReads/reads, "x-fewer-reads")
				b.ReportMetric(fullReads/entries, "x-fewer-entries")
			})
			b.Run(fmt.Sprintf("%s/k=%d/merkle-cold", cfg, k), func(b *testing.B) {
				// Every diff sorts the children it lists, as on a MemStore
				// that was just written.
				f := fixtures.get(b, cfg, k)
				for b.Loop() {
					b.StopTimer()
					f.a.ForgetSorted()
					f.b.ForgetSorted()
					b.StartTimer()
					if _, err := merkle.Diff(context.Background(), f.a, f.b); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/k=%d/ratio", cfg, k), func(b *testing.B) {
				// The full comparison and warm diffs back to back, so that
				// both see the same machine load: x-faster is their ratio.
				f := fixtures.get(b, cfg, k)
				var full, diff time.Duration
				diffs := 0
				for b.Loop() {
					t0 := time.Now()
					_ = fullCompare(f.la, f.lb)
					t1 := time.Now()
					full += t1.Sub(t0)
					for time.Since(t1) < t1.Sub(t0) {
						if _, err := merkle.Diff(context.Background(), f.a, f.b); err != nil {
							b.Fatal(err)
						}
						diffs++
					}
					diff += time.Since(t1)
				}
				b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "full-ns/op")
				b.ReportMetric(float64(diff.Nanoseconds())/float64(diffs), "merkle-ns/op")
				b.ReportMetric(float64(full.Nanoseconds())/float64(b.N)*float64(diffs)/float64(diff.Nanoseconds()), "x-faster")
			})
			b.Run(fmt.Sprintf("%s/k=%d/full", cfg, k), func(b *testing.B) {
				f := fixtures.get(b, cfg, k)
				var got []string
				for b.Loop() {
					got = fullCompare(f.la, f.lb)
				}
				if len(got) != k {
					b.Fatalf("found %d differences, want %d", len(got), k)
				}
				fullReads := float64(len(f.la) + len(f.lb))
				b.ReportMetric(fullReads, "node-reads/op")
				b.ReportMetric(fullReads, "entries/op")
			})
		}
	}
}
