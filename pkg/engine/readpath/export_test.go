package readpath

// Test hooks: where the background loops are, so tests wait for them
// instead of sleeping.

// L1Applied is the last commit feed sequence the L1 follower applied.
func (r *Reader) L1Applied() uint64 { return r.l1.applied.Load() }

// L1Enabled reports whether L1 serves and takes fills.
func (r *Reader) L1Enabled() bool { return r.l1.enabled.Load() }

// FilterUsable reports whether the filter's "absent" is believed.
func (r *Reader) FilterUsable() bool { return r.filter.usable() }

// FilterApplied is the last feed sequence applied to the active filter.
func (r *Reader) FilterApplied() uint64 {
	if g := r.filter.active.Load(); g != nil {
		return g.applied.Load()
	}
	return 0
}

// FillsIdle reports whether no Redis fill is queued or being written.
func (r *Reader) FillsIdle() bool { return r.fills == nil || r.fills.pending.Load() == 0 }
