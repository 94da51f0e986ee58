package storepg_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storepg"
	"github.com/syncline/syncline/pkg/store/storetest"
)

// variant is one store configuration measured by the interleaved
// benchmarks below: every iteration runs one batch on each variant in
// turn, so that a change of machine load hits all of them alike, and each
// variant's rate is the median of its batches.
type variant struct {
	name  string
	setup func(s *storepg.Store)
	// writes builds batch i.
	writes func(i int) []store.Write
	s      *storepg.Store
	secs   []float64
}

func runInterleaved(b *testing.B, vs []*variant) {
	for _, v := range vs {
		s, err := storepg.Open(context.Background(), storetest.PostgresURL(b), store.Config{})
		require.NoError(b, err)
		b.Cleanup(func() { _ = s.Close() })
		v.setup(s)
		v.s = s
	}
	b.ResetTimer()
	for i := range b.N {
		for _, v := range vs {
			ws := v.writes(i)
			start := time.Now()
			_, err := v.s.ApplyBatch(context.Background(), ws)
			require.NoError(b, err)
			v.secs = append(v.secs, time.Since(start).Seconds())
		}
	}
	for _, v := range vs {
		s := slices.Clone(v.secs)
		slices.Sort(s)
		b.ReportMetric(1000/s[len(s)/2], v.name+"_rows/s")
	}
}

func payload1K() []byte {
	p := make([]byte, 1024)
	_, _ = rand.Read(p)
	return p
}

// BenchmarkUpsertShape compares the statement shapes that write item rows,
// inside the full ApplyBatch (LWW read, merkle deltas, one transaction):
// batches of 1000 writes of 1 KiB, new ids (insert) or newer versions of
// 1000 existing ids (update).
//
//	go test -run '^$' -bench UpsertShape -benchtime 30x ./pkg/store/storepg/
func BenchmarkUpsertShape(b *testing.B) {
	payload := payload1K()
	var vs []*variant
	for _, mode := range []string{"unnest", "copy", "hybrid", "batch"} {
		for _, kind := range []string{"insert", "update"} {
			v := &variant{name: mode + "_" + kind}
			v.writes = func(i int) []store.Write {
				ws := make([]store.Write, 1000)
				for j := range ws {
					id := fmt.Sprintf("bench.%d.%d", i, j)
					if kind == "update" {
						id = fmt.Sprintf("bench.%d", j)
					}
					ws[j] = store.Write{Seq: uint64(i + 2), ID: id, Op: store.OpPut, Version: uint64(i + 2), Payload: payload}
				}
				return ws
			}
			v.setup = func(s *storepg.Store) {
				storepg.SetUpsertMode(s, mode)
				if kind == "update" {
					ws := v.writes(-1)
					for j := range ws {
						ws[j].Version = 1
					}
					_, err := s.ApplyBatch(context.Background(), ws)
					require.NoError(b, err)
				}
			}
			vs = append(vs, v)
		}
	}
	runInterleaved(b, vs)
}

// BenchmarkMerkleShare measures the merkle tree's share of ApplyBatch on
// PostgreSQL: batches of 1000 new 1 KiB items with ids three segments deep
// ("bench.u<k>.i<n>", 64 middle nodes, as in BenchmarkWriterDrain), with
// and without the edge deltas (share = 1 - notree/tree time).
//
//	go test -run '^$' -bench MerkleShare -benchtime 40x ./pkg/store/storepg/
func BenchmarkMerkleShare(b *testing.B) {
	payload := payload1K()
	writes := func(i int) []store.Write {
		ws := make([]store.Write, 1000)
		for j := range ws {
			n := i*1000 + j
			ws[j] = store.Write{Seq: uint64(n + 1), ID: fmt.Sprintf("bench.u%d.i%d", n%64, n), Op: store.OpPut, Payload: payload}
		}
		return ws
	}
	tree := &variant{name: "tree", writes: writes, setup: func(*storepg.Store) {}}
	noTree := &variant{name: "notree", writes: writes, setup: func(s *storepg.Store) { storepg.SetNoTree(s, true) }}
	runInterleaved(b, []*variant{tree, noTree})
	med := func(v *variant) float64 {
		s := slices.Clone(v.secs)
		slices.Sort(s)
		return s[len(s)/2]
	}
	b.ReportMetric(1-med(noTree)/med(tree), "merkle_share")
}
