package wal_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/wal"
)

var hashA = strings.Repeat("ab", 32)

func sampleRecord() wal.CommitRecord {
	return wal.CommitRecord{V: 1, Origin: "o1", Writer: "w1", Root: hashA, Changes: []wal.CommitChange{
		{ID: "a.b", Version: 7, Leaf: hashA, State: "s", ContentType: "application/json", CacheTTL: 60, Seq: 42},
		{ID: "a.c", Version: 9, Deleted: true, Seq: 43},
	}}
}

func TestCommitRecordJSONShape(t *testing.T) {
	t.Parallel()
	data, err := wal.EncodeCommit(sampleRecord())
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	for _, k := range []string{"v", "origin", "writer", "root", "changes"} {
		require.Contains(t, m, k)
	}
	ch := m["changes"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "version", "leaf", "state", "content_type", "cache_ttl", "seq"} {
		require.Contains(t, ch, k)
	}
	require.Equal(t, true, m["changes"].([]any)[1].(map[string]any)["deleted"])
	got, err := wal.DecodeCommit(data)
	require.NoError(t, err)
	require.Equal(t, sampleRecord(), got)
}

func TestCommitRecordRejects(t *testing.T) {
	t.Parallel()
	mut := map[string]func(*wal.CommitRecord){
		"version":      func(r *wal.CommitRecord) { r.V = 2 },
		"root":         func(r *wal.CommitRecord) { r.Root = "xyz" },
		"root upper":   func(r *wal.CommitRecord) { r.Root = strings.ToUpper(hashA) },
		"id":           func(r *wal.CommitRecord) { r.Changes[0].ID = "a..b" },
		"zero version": func(r *wal.CommitRecord) { r.Changes[0].Version = 0 },
		"leaf deleted": func(r *wal.CommitRecord) { r.Changes[1].Leaf = hashA },
		"no leaf":      func(r *wal.CommitRecord) { r.Changes[0].Leaf = "" },
		"state":        func(r *wal.CommitRecord) { r.Changes[0].State = "a b" },
		"ct":           func(r *wal.CommitRecord) { r.Changes[0].ContentType = "text/plain" },
		"ttl":          func(r *wal.CommitRecord) { r.Changes[0].CacheTTL = -1 },
	}
	for name, f := range mut {
		r := sampleRecord()
		f(&r)
		_, err := wal.EncodeCommit(r)
		require.Error(t, err, name)
	}
	for _, s := range []string{"", "{", "[]", `{"v":1,"root":"` + hashA + `"} {}`, "null"} {
		_, err := wal.DecodeCommit([]byte(s))
		require.Error(t, err, s)
	}
}

func FuzzDecodeCommit(f *testing.F) {
	good, _ := wal.EncodeCommit(sampleRecord())
	f.Add(good)
	f.Add([]byte(`{"v":1,"root":"` + hashA + `","changes":[]}`))
	f.Add([]byte(`{"v":1,"root":"` + hashA + `","changes":[{"id":"a","version":1,"deleted":true}]}`))
	f.Add([]byte(`{"v":"1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := wal.DecodeCommit(data)
		if err != nil {
			return
		}
		require.NoError(t, r.Validate())
		again, err := wal.EncodeCommit(r)
		require.NoError(t, err)
		r2, err := wal.DecodeCommit(again)
		require.NoError(t, err)
		require.Equal(t, len(r.Changes), len(r2.Changes))
		require.Equal(t, r.Root, r2.Root)
	})
}

func TestFollowCommitsReportsGaps(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "feed"})
	n := e.cfg.Names()
	for i := 0; i < 4; i++ {
		seq, err := wal.PublishCommit(ctx(t), e.js, n, sampleRecord())
		require.NoError(t, err)
		require.EqualValues(t, i+1, seq)
	}
	st, err := e.js.Stream(ctx(t), n.CommitsStream())
	require.NoError(t, err)
	require.NoError(t, st.DeleteMsg(ctx(t), 3))
	// An undecodable record at 5.
	_, err = e.js.Publish(ctx(t), n.CommitsSubject(), []byte("{garbage"))
	require.NoError(t, err)
	_, err = wal.PublishCommit(ctx(t), e.js, n, sampleRecord())
	require.NoError(t, err)

	var mu sync.Mutex
	var seqs []uint64
	var gaps []wal.Gap
	f, err := wal.FollowCommits(ctx(t), e.js, n, 2, wal.FollowHandlers{
		OnRecord: func(seq uint64, _ wal.CommitRecord) { mu.Lock(); seqs = append(seqs, seq); mu.Unlock() },
		OnGap:    func(g wal.Gap) { mu.Lock(); gaps = append(gaps, g); mu.Unlock() },
	})
	require.NoError(t, err)
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if f.Last() < 6 {
			return errNotYet
		}
		return nil
	})
	f.Stop()
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []uint64{2, 4, 6}, seqs)
	require.Len(t, gaps, 2)
	require.Equal(t, wal.Gap{After: 2, Next: 4}, gaps[0])
	require.EqualValues(t, 5, gaps[1].Next)
	require.Error(t, gaps[1].Err)
}
