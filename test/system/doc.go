// Package system holds Syncline's system tests: every binary (ingest,
// writer, reconciler, the syncline CLI) runs as a child process against a
// real NATS server (embedded in the test process, so that a test can stop
// and restart it), the machine's PostgreSQL (a private schema per test)
// and Redis (a private key prefix per test), while the test drives load
// with pkg/client and injects failures: SIGKILL, a PostgreSQL outage, a
// flushed or tampered Redis, a NATS restart, a full WAL, poison messages
// in the WAL, bad client input and NATS authentication/TLS.
//
// Every scenario ends the same way: it waits, bounded, until SQL holds
// exactly the final last-writer-wins value of every acknowledged write,
// Redis equals SQL item by item, and `syncline verify` exits 0; it logs
// the writes acknowledged, the writes found and the time to converge.
// docs/guarantees.md maps each guarantee to the test that shows it.
//
// Running:
//
//	go test -count=1 ./test/system/              # the CI variant
//	go test -count=1 -v -run TestSystemKill ./test/system/
//	SYNCLINE_SOAK=30m go test -count=1 -timeout 0 -run TestSystem -v ./test/system/
//
// TestMain builds the binaries once into a temporary directory. Without
// PostgreSQL or Redis the tests skip, except with CI=true, where they
// fail. CI=true also selects the smaller load sizes; SYNCLINE_SOAK=<d>
// makes TestSystemSoak repeat the kill and outage scenarios for d and
// print a summary.
package system
