package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest/ingesttest"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// The client checks what it can before sending.
func TestQueryValidationBeforeSending(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	cl, err := client.New(waltest.Connect(t, s)) // no service: anything sent is unavailable
	require.NoError(t, err)
	ctx := tctx(t)
	_, err = cl.List(ctx, client.Query{Prefix: "a..b"}, "", 0)
	require.ErrorIs(t, err, item.ErrInvalidID)
	_, err = cl.Count(ctx, client.Query{State: "a b"})
	require.ErrorIs(t, err, item.ErrInvalidHeader)
	_, err = cl.DeletePrefix(ctx, client.Query{Prefix: "a*"})
	require.ErrorIs(t, err, item.ErrInvalidID)
	_, err = cl.SetState(ctx, "a", "no spaces")
	require.ErrorIs(t, err, item.ErrInvalidHeader)
	_, err = cl.MGet(ctx, []string{"ok", "a."})
	require.ErrorIs(t, err, item.ErrInvalidID)
	_, err = cl.Put(ctx, "a", []byte("x"), client.WithRoute(item.RouteCache))
	require.ErrorIs(t, err, item.ErrInvalidHeader)
	_, err = cl.Put(ctx, "a", []byte("x"), client.WithRoute("fast"))
	require.ErrorIs(t, err, item.ErrInvalidHeader)
	_, err = cl.Put(ctx, "a", []byte("x"), client.WithOrigin("a/b"))
	require.ErrorIs(t, err, item.ErrInvalidHeader)
	_, err = cl.Count(ctx, client.Query{})
	require.ErrorIs(t, err, item.ErrUnavailable)
	require.Error(t, cl.FollowCommits(ctx, 0, nil))
}

// FollowCommits resumes by sequence and stops on its handler's error.
func TestFollowCommitsResumes(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	ctx := tctx(t)
	for _, id := range []string{"f.1", "f.2", "f.3"} {
		_, err := p.Client.Put(ctx, id, []byte("x"))
		require.NoError(t, err)
		_, err = p.Client.Count(ctx, client.Query{}, client.WithStrong()) // one commit each
		require.NoError(t, err)
	}
	var info client.FeedInfo
	require.Eventually(t, func() bool {
		var err error
		info, err = p.Client.CommitFeed(ctx)
		require.NoError(t, err)
		return info.LastSeq >= 3
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, uint64(1), info.FirstSeq)

	stop := errors.New("stop")
	var seen []uint64
	var processed uint64
	err := p.Client.FollowCommits(ctx, 1, func(seq uint64, r wal.CommitRecord) error {
		seen = append(seen, seq)
		if seq == 2 {
			return stop // not processed: the consumer resumes at it
		}
		processed = seq
		return nil
	})
	require.ErrorIs(t, err, stop)
	fctx, cancel := context.WithCancel(ctx)
	err = p.Client.FollowCommits(fctx, processed+1, func(seq uint64, r wal.CommitRecord) error {
		seen = append(seen, seq)
		if seq == info.LastSeq {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, []uint64{1, 2, 2, 3}, seen[:4])
	require.Equal(t, info.LastSeq, seen[len(seen)-1])
}
