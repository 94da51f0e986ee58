package writer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// A WAL with DiscardNew limits that filled up takes writes again once the
// writers have drained it: the writers trim it to their ack floor, so it
// holds only what is not in SQL yet.
func TestFullWALAcceptsWritesAgainOnceDrained(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", wal.Config{Prefix: "trim", MaxMsgs: 20}, store.Config{})
	batch := func(from int) []wal.Write {
		ws := make([]wal.Write, 20)
		for i := range ws {
			ws[i] = wal.Write{ID: fmt.Sprintf("t.i%d", from+i), Op: wal.OpPut, Version: 1, Payload: []byte("x")}
		}
		return ws
	}
	e.publish(batch(0)...)
	_, err := e.js.PublishMsg(ctxT(t), wal.Write{ID: "t.over", Op: wal.OpPut, Version: 1, Payload: []byte("x")}.Encode(e.names))
	require.Error(t, err, "the WAL is full")

	e.start(fast(), nil, nil)
	e.waitDrained(20 * time.Second)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		s, err := e.js.Stream(ctxT(t), e.names.WALStream())
		if err != nil {
			return err
		}
		if st := s.CachedInfo().State; st.Msgs != 0 || st.LastSeq != 20 {
			return fmt.Errorf("WAL holds %d messages, last seq %d", st.Msgs, st.LastSeq)
		}
		return nil
	})
	seqs := e.publish(batch(20)...)
	require.EqualValues(t, 21, seqs[0], "sequences go on after the trim")
	e.waitDrained(20 * time.Second)
	n, err := e.sql.Count(ctxT(t), store.Query{})
	require.NoError(t, err)
	require.EqualValues(t, 40, n)
}
