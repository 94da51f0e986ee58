// Package storesqlite is the SQLite store.Backend (modernc.org/sqlite, pure
// Go, driver "sqlite"), Syncline's embedded default.
//
// # Connections and durability
//
// The database runs in WAL journal mode, so readers never block the writer
// nor each other. Writes go through one connection (database/sql pool of
// size 1) whose transactions start with BEGIN IMMEDIATE: the write lock is
// taken before the batch reads its existing rows, which serializes writers
// of this process and of other processes sharing the file, and keeps the
// read-decide-write of last-writer-wins exact. busy_timeout (10 s) makes a
// second process wait for the lock instead of failing; a lock still held
// after it is store.ErrUnavailable. Reads use a separate pool of read-only
// connections.
//
// synchronous=FULL: in WAL mode this fsyncs the WAL at every commit. The
// writer acknowledges WAL messages right after the commit, so a commit
// that a power loss could undo (synchronous=NORMAL only fsyncs at
// checkpoints) would lose acknowledged writes; FULL costs one fsync per
// batch, not per item.
//
// Migrations are embedded goose files, applied at Open. SQLite has no
// session lock for goose to take, so two processes opening a fresh file at
// once may both try a migration; SQLite's write lock orders their DDL, and
// the loser retries after re-reading goose's version table (upRetrying).
package storesqlite
