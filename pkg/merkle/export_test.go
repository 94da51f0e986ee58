package merkle

// ForgetSorted drops the MemStore's cache of sorted children, so that a
// benchmark can measure reads that sort (tests only).
func (m *MemStore) ForgetSorted() {
	m.sortedMu.Lock()
	defer m.sortedMu.Unlock()
	clear(m.sorted)
}
