package wal

import "github.com/syncline/syncline/pkg/item"

// WAL message headers (DESIGN.md §2). The id travels in Sync-Id, never in
// the stored subject.
const (
	HeaderID          = "Sync-Id"
	HeaderOp          = "Sync-Op"
	HeaderVersion     = item.HeaderVersion
	HeaderContentType = item.HeaderContentType
	HeaderState       = item.HeaderState
	HeaderCacheTTL    = item.HeaderCacheTTL
	HeaderMsgID       = item.HeaderMsgID
	HeaderDLQReason   = "Sync-DLQ-Reason"
	HeaderDLQSeq      = "Sync-DLQ-Seq"
	// HeaderDLQMsgID keeps a dead letter's original Nats-Msg-Id; the copy's
	// own Nats-Msg-Id is "wal-<seq>" so that repeated copies de-duplicate.
	HeaderDLQMsgID = "Sync-DLQ-Msg-Id"
)

// Op is a write's operation.
type Op string

// The operations.
const (
	OpPut Op = "put"
	OpDel Op = "del"
)

// DLQ reasons beyond the item error codes.
const (
	// ReasonInvalidOp: Sync-Op missing or not put|del.
	ReasonInvalidOp = "invalid_op"
	// ReasonInvalidPayload: a delete that carries a payload.
	ReasonInvalidPayload = "invalid_payload"
)
