package storepg

// SetUpsertMode selects the statement shape (benchmarks only):
// "unnest", "copy" or "batch".
func SetUpsertMode(s *Store, mode string) {
	switch mode {
	case "copy":
		s.mode = modeCopy
	case "batch":
		s.mode = modeBatch
	case "hybrid":
		s.mode = modeHybrid
	default:
		s.mode = modeUnnest
	}
}

// SetNoTree makes ApplyBatch skip the merkle edges (benchmarks only).
func SetNoTree(s *Store, v bool) { s.noTree = v }
