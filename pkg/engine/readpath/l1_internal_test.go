package readpath

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/merkle"
)

func testL1(c Config) *l1 {
	l := newL1(c.WithDefaults())
	l.enabled.Store(true)
	return l
}

func val(id string, version uint64, payload string) (ingest.Item, merkle.Hash) {
	return ingest.Item{ID: id, Version: version, Payload: []byte(payload), ContentType: "application/octet-stream"},
		merkle.LeafOf(id, version, []byte(payload))
}

// A fill that read v1 while the feed delivered v2 is refused; so is any
// value older than the watermark, and a stale entry is dropped.
func TestL1NeverTakesInOlderThanSeen(t *testing.T) {
	t.Parallel()
	l := testL1(Config{})
	now := time.Now()
	tok := l.begin(0)
	v2, leaf2 := val("a", 2, "two")
	l.apply(1, now, "a", 2, leaf2, false)
	v1, leaf1 := val("a", 1, "one")
	require.False(t, l.insert(tok, "a", v1, leaf1, 0, true, now))
	require.False(t, l.insert(l.begin(0), "a", v1, leaf1, 0, true, now))
	e, live := l.lookup("a")
	require.Nil(t, e)
	require.True(t, live)
	require.False(t, l.fresh("a", 1, leaf1, now))
	require.True(t, l.fresh("a", 2, leaf2, now))

	require.True(t, l.insert(l.begin(0), "a", v2, leaf2, 0, true, now))
	e, _ = l.lookup("a")
	require.Equal(t, uint64(2), e.version)

	// Same version, another payload: a tie whose winner the feed says.
	_, other := val("a", 2, "two'")
	require.True(t, l.apply(2, now, "a", 2, other, false))
	e, _ = l.lookup("a")
	require.Nil(t, e)
	// Two different puts at version 2 seen: only a higher version is newer.
	require.False(t, l.insert(l.begin(0), "a", v2, leaf2, 0, true, now))
	require.False(t, l.fresh("a", 2, other, now))

	// A tombstone at an equal version beats a put.
	v3, leaf3 := val("a", 3, "three")
	require.True(t, l.insert(l.begin(0), "a", v3, leaf3, 0, true, now))
	require.True(t, l.apply(3, now, "a", 3, merkle.Hash{}, true))
	require.False(t, l.insert(l.begin(0), "a", v3, leaf3, 0, true, now))
	ver, ok := l.markDeleted("a")
	require.True(t, ok)
	require.Equal(t, uint64(3), ver)
	_, live = l.lookup("a")
	require.False(t, live)
	// A late record of an older put changes nothing.
	require.False(t, l.apply(4, now, "a", 2, leaf2, false))
	_, ok = l.markDeleted("a")
	require.True(t, ok)
}

// Forgetting a watermark is conservative: fills whose read may predate
// the forgotten commit are refused, Redis copies within the grace period
// are not believed.
func TestL1ForgottenWatermarks(t *testing.T) {
	t.Parallel()
	l := testL1(Config{L1Shards: 1, Watermarks: 1, RedisGrace: time.Minute})
	now := time.Now()
	va, leafA := val("a", 1, "a")
	early := l.begin(0) // before the records below
	l.apply(5, now, "a", 2, merkle.LeafOf("a", 2, []byte("a2")), false)
	l.applied.Store(5)
	l.apply(6, now, "b", 1, merkle.LeafOf("b", 1, []byte("b")), false) // evicts a's watermark
	l.applied.Store(6)
	require.False(t, l.insert(early, "a", va, leafA, 0, true, now), "read may predate a's commit at 5")
	require.False(t, l.fresh("a", 1, leafA, now), "within the grace")
	require.False(t, l.insert(l.begin(0), "a", va, leafA, 0, false, now))
	// A read that began after record 5 includes it (SQL commit precedes publish).
	va2, leafA2 := val("a", 2, "a2")
	require.True(t, l.insert(l.begin(0), "a", va2, leafA2, 0, true, now))
	later := now.Add(2 * time.Minute)
	require.True(t, l.fresh("c", 1, merkle.Hash{}, later))
}

// Purges and lag refuse fills that began before them.
func TestL1GenerationRefusesOldFills(t *testing.T) {
	t.Parallel()
	l := testL1(Config{})
	now := time.Now()
	v, leaf := val("x", 1, "x")
	tok := l.begin(0)
	l.purge()
	require.False(t, l.insert(tok, "x", v, leaf, 0, true, now))
	require.True(t, l.insert(l.begin(0), "x", v, leaf, 0, true, now))
	l.disable()
	e, _ := l.lookup("x")
	require.Nil(t, e)
	require.False(t, l.insert(l.begin(0), "x", v, leaf, 0, true, now))
	l.enabled.Store(true)
	require.Zero(t, l.entries.Load())
	require.Zero(t, l.bytes.Load())

	// After commits may have gone unseen, Redis copies wait RedisGrace.
	l.holdRedis(now)
	require.False(t, l.insert(l.begin(0), "x", v, leaf, 0, false, now.Add(l.grace-time.Nanosecond)))
	require.True(t, l.insert(l.begin(0), "x", v, leaf, 0, true, now), "SQL reads are current")
	require.True(t, l.insert(l.begin(0), "y", v, leaf, 0, false, now.Add(l.grace)))
}

// The byte budget holds whatever is inserted; the accounting is exact.
func TestL1ByteBudget(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		budget := rapid.Int64Range(4<<10, 64<<10).Draw(rt, "budget")
		shards := rapid.SampledFrom([]int{1, 2, 4}).Draw(rt, "shards")
		l := testL1(Config{L1MaxBytes: budget, L1Shards: shards})
		now := time.Now()
		for i := range rapid.IntRange(1, 300).Draw(rt, "n") {
			id := fmt.Sprintf("id.%d", rapid.IntRange(0, 100).Draw(rt, "id"))
			size := rapid.IntRange(0, int(budget/int64(shards))).Draw(rt, "size")
			v, leaf := val(id, uint64(i+1), strings.Repeat("x", size))
			ok := l.insert(l.begin(0), id, v, leaf, 0, true, now)
			fits := int64(len(id)+size+EntryOverhead) <= l.maxItem
			require.Equal(rt, fits, ok, "insert of %d bytes, max item %d", size, l.maxItem)
			if rapid.IntRange(0, 9).Draw(rt, "invalidate") == 0 {
				l.apply(uint64(i+1), now, id, uint64(i+1), merkle.Hash{}, true) // later inserts are newer
			}
		}
		var bytes, entries int64
		for _, s := range l.shards {
			require.LessOrEqual(rt, s.bytes, s.budget)
			var sb int64
			for _, e := range s.items.Values() {
				sb += e.size
			}
			require.Equal(rt, sb, s.bytes)
			bytes += sb
			entries += int64(s.items.Len())
		}
		require.Equal(rt, bytes, l.bytes.Load())
		require.Equal(rt, entries, l.entries.Load())
		require.LessOrEqual(rt, bytes, budget)
	})
}

// covers only grows for one value, and a newer value replaces an older.
func TestL1Covers(t *testing.T) {
	t.Parallel()
	l := testL1(Config{})
	now := time.Now()
	v, leaf := val("c", 1, "c")
	require.True(t, l.insert(l.begin(0), "c", v, leaf, 7, true, now))
	require.True(t, l.insert(l.begin(0), "c", v, leaf, 3, true, now))
	e, _ := l.lookup("c")
	require.Equal(t, uint64(7), e.covers)
	require.True(t, l.insert(l.begin(0), "c", v, leaf, 9, true, now))
	e, _ = l.lookup("c")
	require.Equal(t, uint64(9), e.covers)
	v2, leaf2 := val("c", 2, "c2")
	require.True(t, l.insert(l.begin(0), "c", v2, leaf2, 0, false, now))
	require.False(t, l.insert(l.begin(0), "c", v, leaf, 0, true, now), "an older value does not replace a newer")
	e, _ = l.lookup("c")
	require.Equal(t, uint64(2), e.version)
	require.Equal(t, 1, int(l.entries.Load()))
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	b := breaker{min: time.Second, max: 4 * time.Second}
	now := time.Now()
	require.True(t, b.allow(now))
	b.fail(now)
	require.False(t, b.allow(now.Add(999*time.Millisecond)))
	require.True(t, b.allow(now.Add(time.Second)))
	b.fail(now)
	b.fail(now)
	b.fail(now)
	require.False(t, b.allow(now.Add(3*time.Second)))
	require.True(t, b.allow(now.Add(4*time.Second)))
	b.ok()
	require.True(t, b.allow(now))
	b.fail(now)
	require.True(t, b.allow(now.Add(time.Second)))
}
