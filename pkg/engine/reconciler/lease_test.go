package reconciler

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
)

// TestStepsDownWhenLeaseTaken: another holder writing the key (an operator,
// or an instance that saw the lease lapse during a partition) makes the
// leader step down at its next renewal and stand by.
func TestStepsDownWhenLeaseTaken(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	r := p.start("a", Config{})
	waitFor(t, "running", 10*time.Second, func() bool { return r.Status().State == lifecycle.Running })
	ctx := context.Background()
	kv, err := p.js.KeyValue(ctx, p.names.LeasesBucket())
	require.NoError(t, err)
	v, ok, err := CurrentLeader(ctx, kv, "reconciler")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "a", v.Holder)

	other, _ := json.Marshal(LeaseValue{Holder: "intruder", Since: time.Now(), Renewed: time.Now()})
	_, err = kv.Put(ctx, "reconciler", other)
	require.NoError(t, err)
	waitFor(t, "step down", 3*time.Second, func() bool { return !r.Status().Leader })
	require.Equal(t, 0.0, r.metric(t, "syncline_reconciler_leader"))
	// Once the intruder's lease lapses, a takes it back.
	waitFor(t, "lead again", 5*time.Second, func() bool { return r.Status().State == lifecycle.Running })
}

func TestAdminSubjects(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	fill(t, p.sql, "adm", 20)
	r := p.start("a", Config{})
	waitFor(t, "running", 10*time.Second, func() bool { return r.Status().State == lifecycle.Running })
	nc := p.js.Conn()
	ask := func(subject string, req AdminRequest) AdminReply {
		body, _ := json.Marshal(req)
		m, err := nc.Request(subject, body, 30*time.Second)
		require.NoError(t, err)
		var rep AdminReply
		require.NoError(t, json.Unmarshal(m.Data, &rep))
		return rep
	}
	rep := ask(VerifySubject("sync"), AdminRequest{Deep: true})
	require.Nil(t, rep.Error)
	require.True(t, rep.Report.InSync)
	require.Equal(t, 20, rep.Report.DeepChecked)
	require.Equal(t, rep.SQLRoot, rep.RedisRoot)

	(&writes{}).put("adm.x", 1, "x").apply(t, p.sql) // not on the feed
	rep = ask(RepairSubject("sync"), AdminRequest{Prefix: "adm"})
	require.Nil(t, rep.Error)
	require.True(t, rep.Report.InSync)

	rep = ask(VerifySubject("sync"), AdminRequest{Prefix: "bad..prefix"})
	require.NotNil(t, rep.Error)
	require.Equal(t, "invalid_id", rep.Error.Code)
}
