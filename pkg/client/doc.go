// Package client is the Go client of Syncline's NATS API (DESIGN.md §2):
// Put, Delete, Get and Exists as request/reply to the "syncline" micro
// service, a Pipeline for bulk loads with a bounded number of requests in
// flight, and PublishWAL for trusted producers that append straight to the
// WAL with JetStream.
//
// Every error the service answers with, and every transport failure, is
// returned as an *item.Error, so callers branch on one set of codes:
//
//	var e *item.Error
//	if errors.As(err, &e) && e.Code == item.CodeUnavailable {
//		time.Sleep(time.Duration(e.RetryAfterSeconds) * time.Second)
//	}
//
// or errors.Is(err, item.ErrNotFound). Ids are validated before anything
// is sent: an id with an empty segment could not even reach the service
// (the NATS server drops such subjects), so it fails here with invalid_id.
package client
