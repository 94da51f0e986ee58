// Package ingest is the front door of the pipeline: the "syncline" NATS
// micro service (DESIGN.md §2) serving
//
//	<P>.put.<id>     payload; Sync-Version, Sync-State, Sync-Cache-TTL,
//	                 Content-Type, Nats-Msg-Id    -> {"id","version","seq"}
//	<P>.del.<id>     Sync-Version, Nats-Msg-Id   -> {"id","version","seq"}
//	<P>.get.<id>     Sync-After-Seq | Sync-Consistency: strong
//	                 -> payload, Sync-Version, Content-Type, Sync-State, Sync-Source
//	<P>.exists.<id>  -> {"exists":bool}
//
// in a queue group, so any number of ingest processes share the load, and
// the query endpoints and routes of docs/query.md (query.go): list, count
// and delprefix on <P>.<verb>[.<prefix>], setstate and is_current on
// <P>.<verb>.<id>, mget on <P>.mget, and Sync-Route / Sync-Origin on
// writes.
//
// # Writes
//
// A put or delete is validated (pkg/item), checked against the payload
// limit (Config.MaxPayload, never above the NATS server's max_payload
// including the WAL headers), appended to the WAL with a bounded number in
// flight, and answered only once JetStream has acknowledged it. The reply's
// version is the explicit Sync-Version or else the WAL sequence. A request
// with a Nats-Msg-Id already seen within the WAL's duplicate window is
// answered with the original write's sequence.
//
// The micro framework calls a handler on the subscription's goroutine, one
// request at a time; the write handlers therefore never wait for the
// PubAck: they publish asynchronously and reply from the ack callback, so
// up to wal.Config.PublishMaxPending writes are in flight per process.
//
// # Errors
//
// Errors carry the micro headers Nats-Service-Error-Code (400, 404, 413,
// 503, 500) and Nats-Service-Error ("<code>: <message>"), a JSON body
// {"error":{"code":"..","message":".."}}, and on 503 a Retry-After header
// in whole seconds.
//
// # Reads
//
// Reads go to a Reader (the storage tiers, wired by the composition root).
// Without one every read is 503 unavailable. Sync-After-Seq: N waits,
// bounded by Config.ReadWait, until the writers' ack floor reaches N, then
// asks the Reader for a tier that includes N; Sync-Consistency: strong does
// the same with N = the WAL's last sequence at the time of the request.
//
// # Shutdown
//
// Stop stops the micro service (its subscriptions drain), waits until the
// handlers are idle and every write in flight has been answered, and leaves
// the connection to its owner, which drains it.
package ingest
