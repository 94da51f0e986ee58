package e2e

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a run happened.
type Machine struct {
	NProc     int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	Memory    string `json:"memory"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"commit"`
	Postgres  string `json:"postgres"`
	Redis     string `json:"redis"`
	NATS      string `json:"nats_server"`
	LoadStart string `json:"load_avg_start"`
	LoadEnd   string `json:"load_avg_end"`
}

func readMachine(ctx context.Context) Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version(), CPUModel: "unknown", Memory: "unknown",
		LoadStart: loadAvgText()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := parseStatusKB(b, "MemTotal"); err == nil {
			m.Memory = strconv.FormatFloat(float64(kb)/(1<<20), 'f', 1, 64) + " GiB"
		}
	}
	m.Commit = gitCommit(ctx)
	return m
}

// gitCommit is HEAD of the work tree, marked when it has uncommitted
// changes (the binaries are built from the work tree, not from HEAD).
func gitCommit(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown (not a git work tree)"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " (+ uncommitted changes)"
	}
	return c
}

// loadAvg returns the 1-minute load average (0 if unknown).
func loadAvg() float64 {
	f := strings.Fields(loadAvgText())
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// loadAvgText is "1min 5min 15min" from /proc/loadavg.
func loadAvgText() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
