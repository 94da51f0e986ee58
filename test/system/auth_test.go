package system

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// testAuthConf is the per-role NATS config of deployments/nats (users
// ingest, writer, reconciler, producer, operator in account SYNCLINE;
// client in account APP; prefix "sync").
var testAuthConf = filepath.Join("..", "..", "deployments", "nats", "test-auth.conf")

// rolePasswords are the passwords test-auth.conf defines.
var rolePasswords = map[string]string{
	"ingest": "ingest-pass", "writer": "writer-pass", "reconciler": "reconciler-pass",
	"producer": "producer-pass", "operator": "operator-pass", "client": "client-pass", "sys": "sys-pass",
}

// TestSystemAuthRoles runs the pipeline against a server with per-role
// users and permissions (deployments/nats/test-auth.conf): each process
// under its own user, the load as the "client" user of the APP account,
// the CLI as "operator". Unauthenticated clients are refused; a client
// can neither append to the WAL nor read the filter snapshots; no
// password reaches a process log or the CLI's output.
func TestSystemAuthRoles(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(testAuthConf); err != nil {
		t.Fatalf("the per-role NATS config is missing: %v", err)
	}
	opts, err := server.ProcessConfigFile(testAuthConf)
	if err != nil {
		t.Fatalf("load %s: %v", testAuthConf, err)
	}
	opts.StoreDir = t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	srv := runNATS(t, opts)

	userEnv := func(user string) []string {
		return []string{"SYNCLINE_NATS_USER=" + user, "SYNCLINE_NATS_PASSWORD=" + rolePasswords[user]}
	}
	var secrets []string
	for _, p := range rolePasswords {
		secrets = append(secrets, p)
	}
	c := newCluster(t, clusterOpts{
		ingests: 1, writers: 2, reconcilers: 2,
		prefix: "sync", // test-auth.conf grants the default prefix
		nats:   srv,
		env: map[string][]string{
			roleIngest: userEnv("ingest"), roleWriter: userEnv("writer"),
			roleReconciler: userEnv("reconciler"), roleCLI: userEnv("operator"),
		},
		clientOpts: []nats.Option{nats.UserInfo("client", rolePasswords["client"])},
		adminOpts:  []nats.Option{nats.UserInfo("operator", rolePasswords["operator"])},
		secrets:    secrets,
	})
	c.start()

	// The pipeline works end to end under the roles.
	sz := scale()
	l := newLedger()
	g := startLoad(c, l, 4, sz.rate/2)
	waitAcks(t, l, sz.rate)
	last := g.finish(60 * time.Second)
	c.converge(t, l, "auth-roles", last)
	// The writers may trim the WAL under their role.
	waitWALTrimmed(t, c)

	// No user, or a wrong password: refused.
	if nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Errorf("an unauthenticated client was let in")
	}
	if nc, err := nats.Connect(srv.URL(), nats.UserInfo("ingest", "wrong"), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Errorf("a wrong password was accepted")
	}

	// The client user: no WAL appends, no filter snapshots, no service
	// impersonation.
	ctx := tctx(t, time.Minute)
	violations := make(chan error, 16)
	cnc := c.connect(t, nats.UserInfo("client", rolePasswords["client"]),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case violations <- err:
			default:
			}
		}))
	walStream, err := c.js.Stream(ctx, c.names.WALStream())
	if err != nil {
		t.Fatal(err)
	}
	before := walStream.CachedInfo().State.LastSeq
	msg := &nats.Msg{Subject: c.names.WALSubject(3), Header: nats.Header{"Sync-Id": {"stolen.write"}, "Sync-Op": {"put"}}, Data: []byte("x")}
	if err := cnc.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	expectViolation(t, cnc, violations, "publish", c.names.WALSubject(3))
	info, err := walStream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != before {
		t.Errorf("the client's WAL append was stored (last seq %d -> %d)", before, info.State.LastSeq)
	}
	cjs, err := jetstream.New(cnc)
	if err != nil {
		t.Fatal(err)
	}
	octx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = cjs.ObjectStore(octx, c.names.FiltersBucket())
	cancel()
	if err == nil {
		t.Errorf("the client opened the %s object store", c.names.FiltersBucket())
	}
	expectViolation(t, cnc, violations, "publish", "$JS.API.STREAM.INFO.OBJ_"+c.names.FiltersBucket())
	if _, err := cnc.SubscribeSync("$O." + c.names.FiltersBucket() + ".>"); err != nil {
		t.Fatal(err)
	}
	expectViolation(t, cnc, violations, "subscription", "$O."+c.names.FiltersBucket())
	if _, err := cnc.QueueSubscribeSync(c.prefix+".put.>", "syncline"); err != nil {
		t.Fatal(err)
	}
	expectViolation(t, cnc, violations, "subscription", c.prefix+".put.>")

	// The operator's view: status carries no secret (checked by cli).
	st, err := c.status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Leader == "" || st.InSync == nil || !*st.InSync {
		t.Errorf("status as operator: leader %q in_sync %v errors %v", st.Leader, st.InSync, st.Errors)
	}
	if r := c.cli(ctx, "status"); r.code != 0 {
		t.Errorf("syncline status: exit %d: %s", r.code, r.stderr)
	}
}

// expectViolation waits for the server's permissions violation about kind
// ("publish" or "subscription") and subject on nc.
func expectViolation(t testing.TB, nc *nats.Conn, violations <-chan error, kind, subject string) {
	t.Helper()
	_ = nc.Flush()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case err := <-violations:
			s := strings.ToLower(err.Error())
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(s, kind) && strings.Contains(s, strings.ToLower(subject)) {
				return
			}
		case <-deadline:
			t.Errorf("no permissions violation for %s %s", kind, subject)
			return
		}
	}
}
