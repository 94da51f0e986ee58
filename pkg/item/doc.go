// Package item is Syncline's data model at the edge: it validates what
// arrives from outside (ids, versions, states, cache TTLs, content types) and
// names the error codes every surface of Syncline answers with.
//
// Every parser here takes untrusted input and returns a *Error carrying a
// Code; callers branch with errors.As or CodeOf, never on message text.
//
// Ids (DESIGN.md §1): 1..1024 bytes of printable ASCII (0x21..0x7e), none of
// '*', '>' or '\', made of dot-separated segments none of which is empty.
// The rules make every id a valid NATS subject suffix.
package item
