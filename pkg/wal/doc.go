// Package wal owns Syncline's JetStream assets: the write-ahead log stream
// and everything around it (DESIGN.md §2). It derives every name from the
// subject prefix, provisions streams, the writers' consumer and buckets
// declaratively in one place, encodes and validates WAL messages, publishes
// with a bounded window, and is the single place where a writer's verdict on
// a message becomes an acknowledgement.
//
// # Names (prefix P, default "sync"; UP = upper-case P)
//
//	stream  UP_WAL      subjects P.wal.*     file storage, DiscardNew limits,
//	                                         duplicate window, atomic publish (2.12+)
//	stream  UP_DLQ      subjects P.dlq.*     limits by age
//	stream  UP_COMMITS  subject  P.commits   limits by age
//	object  UP_FILTERS                       filter snapshots
//	kv      UP_LEASES                        leader leases, TTL
//	consumer writers on UP_WAL              durable pull, explicit ack
//
// A write of id goes to P.wal.<p> with p = FNV-1a-32(id) mod Partitions.
// The id travels in a header, never in the stored subject, so JetStream's
// per-subject state stays bounded.
//
// # WAL message
//
// Payload: the item bytes (empty for a delete). Headers:
//
//	Sync-Id          the id (required)
//	Sync-Op          put | del (required)
//	Sync-Version     1..2^63-1, decimal, no leading zeros; absent = the
//	                 message's stream sequence is the version
//	Content-Type     application/json | application/octet-stream; absent on
//	                 a put = sniffed by the decoder
//	Sync-State       1..64 of [A-Za-z0-9_.-]
//	Sync-Cache-TTL   whole seconds, 1..31536000
//	Nats-Msg-Id      idempotency key, JetStream de-duplication
//	Sync-Route       durable (SQL only, never Redis); absent or "default"
//	                 = the default route; "cache" never enters the WAL
//	Sync-Origin      the pipeline the write comes from, 1..64 of
//	                 [A-Za-z0-9_.-]; copied into the commit record's change
//
// DecodeWrite validates all of it: messages may come from trusted producers
// publishing straight into the WAL. A failure is a *PermanentError whose
// Reason names the DLQ subject: invalid_id, invalid_op, invalid_version,
// invalid_header, invalid_json, invalid_payload, payload_too_large.
//
// # Acknowledgements
//
// Handlers return nil, RetryAfter(d, err) or Permanent(reason, err);
// Consumer.Settle turns these into Ack, NakWithDelay(d) or a DLQ copy
// followed by TermWithReason. Nothing here uses AckAll or a bare Nak. A
// dead letter keeps the payload and original headers and adds
// Sync-DLQ-Reason and Sync-DLQ-Seq (its WAL sequence); its Nats-Msg-Id is
// "wal-<seq>" (the original moves to Sync-DLQ-Msg-Id) so that a repeated
// copy is stored once.
//
// # Publishing and errors
//
// Publisher keeps at most Config.PublishMaxPending writes in flight. Its
// errors are *item.Error: a full WAL (DiscardNew: JetStream error 10077,
// "maximum messages/bytes exceeded") is unavailable with Retry-After
// RetryAfterFull; a stalled window, no responders, timeouts, disconnects and
// JetStream 429/503 are unavailable with Retry-After RetryAfter; an oversized
// message is payload_too_large. A write that timed out may still have been
// stored: retrying it with the same Nats-Msg-Id is safe.
//
// # Commit feed record (UP_COMMITS, JSON)
//
//	{"v":1,"origin":"..","writer":"..","root":"<64 hex>",
//	 "changes":[{"id":"a.b","version":7,"leaf":"<64 hex>","state":"x",
//	             "content_type":"application/json","cache_ttl":60,"seq":42,
//	             "origin":"east","route":"durable","payload_sha256":"<64 hex>"},
//	            {"id":"a.c","version":9,"deleted":true,"seq":43}]}
//
// A change has a leaf exactly when it is not deleted. The record's origin
// is what produced it ("writer"); a change's origin is the write's
// Sync-Origin. docs/query.md documents every field for CDC consumers. The feed is a hint;
// FollowCommits reports gaps (expired or undecodable records) so that a
// reader relying on it knows when to stop trusting it.
//
// # Durability
//
// A write is acknowledged once JetStream has stored it. With one server
// that means in the server's file store, fsynced per the server's
// sync_interval (default 2 minutes) unless the server runs with
// sync: always; with 3 replicas it means on a quorum.
package wal
