package stagesvc_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/engine/stagesvc"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

func TestAnnouncerAnswersStats(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	tr := lifecycle.NewTracker(lifecycle.NewRegistry())
	tr.Stage("writer").Set(lifecycle.Running)
	a := stagesvc.New(stagesvc.Config{Process: "writer"}, nc, tr, nil)
	require.NoError(t, a.Start())
	t.Cleanup(func() { require.NoError(t, a.Stop()) })

	subject, err := micro.ControlSubject(micro.StatsVerb, stagesvc.ServiceName, "")
	require.NoError(t, err)
	m, err := nc.Request(subject, nil, 2*time.Second)
	require.NoError(t, err)
	var st micro.Stats
	require.NoError(t, json.Unmarshal(m.Data, &st))
	require.NotEmpty(t, st.Endpoints)
	var r stagesvc.Report
	require.NoError(t, json.Unmarshal(st.Endpoints[0].Data, &r))
	require.Equal(t, "writer", r.Process)
	require.Equal(t, "running", r.Stages["writer"])
	require.True(t, r.Ready)
	require.NotEmpty(t, r.Instance)
}
