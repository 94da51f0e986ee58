package cuckoo_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	seif "github.com/seiflotfy/cuckoofilter"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/cuckoo"
)

// The benchmarks compare this filter with github.com/seiflotfy/cuckoofilter
// at equal memory: mem bytes of bucket array each. With 16-bit
// fingerprints we have mem/2 slots; seiflotfy, with 8-bit fingerprints,
// has mem slots, twice the buckets. Both hold the same n ids, so "load"
// names our load factor; seiflotfy runs at half of it. The row
// "seiflotfy-full" fills seiflotfy to the same load factor of its own
// slots (twice the ids) for comparison.
//
// Ids are 27 bytes, "tenant-0042.orders." and an 8-byte counter, a
// typical id length; present and absent ids differ in the counter's top
// bit. Writing the counter costs well under 1 ns.

// keyGen produces the i-th id of a family without allocating.
type keyGen struct {
	buf    []byte
	family uint64
}

func newKeyGen(family string) *keyGen {
	k := &keyGen{buf: append([]byte("tenant-0042.orders."), make([]byte, 8)...)}
	if family == "out" {
		k.family = 1 << 63
	}
	return k
}

func (k *keyGen) at(i uint64) []byte {
	binary.BigEndian.PutUint64(k.buf[len(k.buf)-8:], k.family|i)
	return k.buf
}

// ours returns an empty filter whose bucket array is exactly mem bytes.
func ours(tb testing.TB, mem uint64) *cuckoo.Filter {
	f := cuckoo.New(uint(mem / 2 * 19 / 20))
	require.Equal(tb, mem, f.Capacity()*2, "sizing")
	return f
}

// theirs returns an empty seiflotfy filter whose bucket array is mem bytes
// (NewFilter(c) allocates nextPow2(c) one-byte slots).
func theirs(mem uint64) *seif.Filter {
	return seif.NewFilter(uint(mem))
}

// cpuClock measures the process's CPU time. On a shared, noisy machine
// wall-clock ns/op also counts the time other processes held the CPU; CPU
// time counts only ours (GC included, which these loops barely trigger).
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{start: cpuNow()} }

// report adds "cpu-ns/op" to b's results.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64((cpuNow()-c.start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

type lookuper interface{ Lookup([]byte) bool }

type loaded struct {
	name string
	f    lookuper
	n    uint64 // ids inserted
	lost uint64 // inserts the filter refused (seiflotfy drops an id then)
}

// fillBoth builds both filters of mem bytes holding load × our slots ids,
// and with full also seiflotfy holding load × its own slots.
func fillBoth(b *testing.B, mem uint64, load float64, full bool) []loaded {
	in := newKeyGen("in")
	o := ours(b, mem)
	n := uint64(load * float64(o.Capacity()))
	for i := range n {
		if err := o.Insert(in.at(i)); err != nil {
			require.ErrorIs(b, err, cuckoo.ErrOverflow) // kept, not lost
		}
	}
	out := []loaded{{name: "syncline", f: o, n: n}}
	for _, c := range []struct {
		name string
		n    uint64
	}{{"seiflotfy", n}, {"seiflotfy-full", 2 * n}} {
		if c.n > n && !full {
			break
		}
		t := theirs(mem)
		var lost uint64
		for i := range c.n {
			if !t.Insert(in.at(i)) {
				lost++
			}
		}
		out = append(out, loaded{name: c.name, f: t, n: c.n, lost: lost})
	}
	return out
}

// benchMems and benchLoads span the benchmark matrix: an L2-resident
// filter and a DRAM-bound one, at half and at 95 % load.
func benchMems() []uint64   { return []uint64{256 << 10, 64 << 20} }
func benchLoads() []float64 { return []float64{0.50, 0.95} }

func memName(mem uint64) string {
	if mem >= 1<<20 {
		return fmt.Sprintf("mem=%dMiB", mem>>20)
	}
	return fmt.Sprintf("mem=%dKiB", mem>>10)
}

// BenchmarkLookup measures Lookup of present ids (hit) and of absent ids
// (miss); the miss runs report the measured false-positive rate "fpr".
func BenchmarkLookup(b *testing.B) {
	for _, mem := range benchMems() {
		for _, load := range benchLoads() {
			b.Run(fmt.Sprintf("%s/load=%.0f%%", memName(mem), 100*load), func(b *testing.B) {
				for _, fl := range fillBoth(b, mem, load, true) {
					b.Run(fl.name+"/hit", func(b *testing.B) {
						if fl.name == "seiflotfy-full" {
							b.Skip("hit rate equals the seiflotfy row")
						}
						benchHits(b, fl)
					})
					b.Run(fl.name+"/miss", func(b *testing.B) { benchMisses(b, fl) })
				}
			})
		}
	}
}

func benchHits(b *testing.B, fl loaded) {
	in := newKeyGen("in")
	misses := 0
	var i uint64
	cpu := startCPU()
	for b.Loop() {
		if !fl.f.Lookup(in.at(i)) {
			misses++
		}
		if i++; i == fl.n {
			i = 0
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(misses)/float64(b.N), "fnr")
	b.ReportMetric(float64(fl.lost), "lost")
}

func benchMisses(b *testing.B, fl loaded) {
	out := newKeyGen("out")
	positives := 0
	var i uint64
	cpu := startCPU()
	for b.Loop() {
		if fl.f.Lookup(out.at(i)) {
			positives++
		}
		i++
	}
	cpu.report(b)
	b.ReportMetric(float64(positives)/float64(b.N), "fpr")
}

// BenchmarkInsert measures filling an empty filter with load × our slots
// ids; one op is one whole fill, and "ns/insert" is the figure to compare.
// seiflotfy-full fills seiflotfy to the same load of its own slots.
// "overflows" counts our inserts per fill that went to the overflow (the id
// is kept); "lost" counts seiflotfy inserts per fill that failed (it drops
// an id then).
func BenchmarkInsert(b *testing.B) {
	for _, mem := range benchMems() {
		for _, load := range benchLoads() {
			name := fmt.Sprintf("%s/load=%.0f%%", memName(mem), 100*load)
			n := uint64(load * float64(mem/2))
			b.Run(name+"/syncline", func(b *testing.B) {
				benchFill(b, n, "overflows", func() func([]byte) bool {
					f := ours(b, mem)
					return func(id []byte) bool { return f.Insert(id) == nil }
				})
			})
			b.Run(name+"/seiflotfy", func(b *testing.B) {
				benchFill(b, n, "lost", func() func([]byte) bool {
					return theirs(mem).Insert
				})
			})
			if mem <= 1<<20 { // at 64 MiB one fill takes ~30 s here
				b.Run(name+"/seiflotfy-full", func(b *testing.B) {
					benchFill(b, 2*n, "lost", func() func([]byte) bool {
						return theirs(mem).Insert
					})
				})
			}
		}
	}
}

// benchFill times filling fresh filters (made untimed by fresh) with n ids
// and reports per-insert wall and CPU time, and failed inserts per fill.
func benchFill(b *testing.B, n uint64, failedUnit string, fresh func() func([]byte) bool) {
	in := newKeyGen("in")
	var failed uint64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		insert := fresh()
		b.StartTimer()
		start := cpuNow()
		for i := range n {
			if !insert(in.at(i)) {
				failed++
			}
		}
		cpu += cpuNow() - start
	}
	ops := float64(uint64(b.N) * n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/ops, "ns/insert")
	b.ReportMetric(float64(cpu.Nanoseconds())/ops, "cpu-ns/insert")
	b.ReportMetric(float64(failed)/float64(b.N), failedUnit)
}

// BenchmarkFPR measures the false-positive rate precisely: each op probes
// a fresh chunk of 2^22 absent ids, and "fpr" is over all ops (tens of
// millions of probes, unlike the miss rows, whose fpr covers b.N probes).
// The rate does not depend on the filter's size, only on its load.
// "lost" counts inserts the filter refused while being filled.
func BenchmarkFPR(b *testing.B) {
	const mem, chunk = 4 << 20, 1 << 22
	for _, load := range benchLoads() {
		b.Run(fmt.Sprintf("%s/load=%.0f%%", memName(mem), 100*load), func(b *testing.B) {
			for _, fl := range fillBoth(b, mem, load, true) {
				b.Run(fl.name, func(b *testing.B) {
					out := newKeyGen("out")
					positives, next := 0, uint64(0)
					for b.Loop() {
						for range chunk {
							if fl.f.Lookup(out.at(next)) {
								positives++
							}
							next++
						}
					}
					b.ReportMetric(float64(positives)/float64(next), "fpr")
					b.ReportMetric(float64(next), "probes")
					b.ReportMetric(float64(fl.lost), "lost")
				})
			}
		})
	}
}

// BenchmarkLookupParallel: hit lookups from all cores at once. seiflotfy
// has no locking, so this is only safe for it because nothing writes.
func BenchmarkLookupParallel(b *testing.B) {
	const mem = 64 << 20
	for _, fl := range fillBoth(b, mem, 0.95, false) {
		b.Run(fl.name, func(b *testing.B) {
			cpu := startCPU()
			defer cpu.report(b)
			b.RunParallel(func(pb *testing.PB) {
				in := newKeyGen("in")
				var i uint64
				for pb.Next() {
					fl.f.Lookup(in.at(i))
					if i++; i == fl.n {
						i = 0
					}
				}
			})
		})
	}
}
