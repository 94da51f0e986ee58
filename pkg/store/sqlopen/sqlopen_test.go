package sqlopen_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/sqlopen"
	"github.com/syncline/syncline/pkg/store/storepg"
	"github.com/syncline/syncline/pkg/store/storesqlite"
	"github.com/syncline/syncline/pkg/store/storetest"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"postgres://u:secret@h:5432/db?sslmode=disable":   "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=secret&search_path=s": "postgres://u@h/db?password=xxxxx&search_path=s",
		"postgresql://h/db":      "postgresql://h/db",
		"sqlite:/var/lib/x.db":   "sqlite:/var/lib/x.db",
		"postgres://u:p%zz@h/db": "postgres://<unparseable>",
		"mysql://u:secret@h/db":  "mysql://u:xxxxx@h/db",
	}
	for in, want := range cases {
		got := sqlopen.Redact(in)
		require.Equal(t, want, got, in)
		require.NotContains(t, got, "secret")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]string{
		"sqlite:/a/b.db":   {"sqlite", "/a/b.db"},
		"sqlite:///a/b.db": {"sqlite", "/a/b.db"},
		"sqlite:rel.db":    {"sqlite", "rel.db"},
		"postgres://h/db":  {"postgres", ""},
	} {
		k, p, err := sqlopen.Parse(in)
		require.NoError(t, err, in)
		require.Equal(t, want, [2]string{string(k), p}, in)
	}
	for _, bad := range []string{"", "sqlite:", "mysql://x", "/tmp/x.db"} {
		_, _, err := sqlopen.Parse(bad)
		require.ErrorIs(t, err, sqlopen.ErrUnsupportedURL, bad)
	}
	_, err := sqlopen.Open(context.Background(), "redis://u:secret@h", store.Config{})
	require.ErrorIs(t, err, sqlopen.ErrUnsupportedURL)
	require.NotContains(t, err.Error(), "secret")
}

func TestOpenDispatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := sqlopen.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), store.Config{})
	require.NoError(t, err)
	require.IsType(t, &storesqlite.Store{}, b)
	require.NoError(t, b.Close())

	b, err = sqlopen.Open(ctx, storetest.PostgresURL(t), store.Config{})
	require.NoError(t, err)
	require.IsType(t, &storepg.Store{}, b)
	require.NoError(t, b.Close())
}
