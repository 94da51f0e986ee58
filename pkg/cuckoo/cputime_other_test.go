//go:build !unix

package cuckoo_test

import "time"

// cpuNow is not measured here; cpu-ns metrics read 0.
func cpuNow() time.Duration { return 0 }
