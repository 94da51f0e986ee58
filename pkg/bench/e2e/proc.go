package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// which the kernel fixes at 100 for user space on every architecture Go
// supports.
const userHZ = 100

// ProcStat is one reading of a process's resource use.
type ProcStat struct {
	// CPU is user plus system CPU time consumed so far.
	CPU time.Duration
	// PeakRSS is the peak resident set size so far (VmHWM), in bytes.
	PeakRSS int64
}

// ReadProcStat reads pid's CPU time from /proc/<pid>/stat and its peak RSS
// from /proc/<pid>/status.
func ReadProcStat(pid int) (ProcStat, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return ProcStat{}, fmt.Errorf("e2e: %w", err)
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return ProcStat{}, err
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return ProcStat{}, fmt.Errorf("e2e: %w", err)
	}
	hwm, err := parseStatusKB(status, "VmHWM")
	if err != nil {
		return ProcStat{}, err
	}
	return ProcStat{CPU: cpu, PeakRSS: hwm * 1024}, nil
}

// parseStatCPU returns utime+stime of a /proc/<pid>/stat line. The command
// name (field 2) is in parentheses and may hold spaces, so the fields are
// counted from the last ')': state is field 3, utime 14, stime 15.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("e2e: /proc stat without ')'")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("e2e: /proc stat has %d fields after the name", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("e2e: /proc stat: %w", err)
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// parseStatusKB returns the value of a "Key:   123 kB" line of
// /proc/<pid>/status.
func parseStatusKB(status []byte, key string) (int64, error) {
	for line := range strings.SplitSeq(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("e2e: /proc status has no %s", key)
}

// child is one process of the pipeline under test.
type child struct {
	name    string // "ingest", "writer-2", "nats-server"
	cmd     *exec.Cmd
	logPath string
	// httpAddr serves /readyz (and /debug/pprof with --pprof); empty for
	// nats-server.
	httpAddr string
	// profileURL is where a CPU profile can be taken; empty if none.
	profileURL string
	exited     chan struct{}
	waitErr    error
}

// startChild starts bin with args and env (added to the current
// environment), its stdout and stderr going to <logDir>/<name>.log.
func startChild(name, bin string, args, env []string, logDir string) (*child, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("e2e: start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		defer close(c.exited)
		c.waitErr = cmd.Wait()
		_ = f.Close()
	}()
	return c, nil
}

// pid returns the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stat reads the child's resource use; after exit, the zero value.
func (c *child) stat() ProcStat {
	s, err := ReadProcStat(c.pid())
	if err != nil {
		return ProcStat{}
	}
	return s
}

// alive reports an error if the child has exited.
func (c *child) alive() error {
	select {
	case <-c.exited:
		return fmt.Errorf("e2e: %s exited (%v); log %s:\n%s", c.name, c.waitErr, c.logPath, tail(c.logPath, 20))
	default:
		return nil
	}
}

// waitReady polls http://<httpAddr>/readyz until it answers 200.
func (c *child) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + c.httpAddr + "/readyz"
	for {
		if err := c.alive(); err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("e2e: %s not ready after %s; log %s:\n%s", c.name, timeout, c.logPath, tail(c.logPath, 20))
		}
	}
}

// stop sends SIGTERM and waits up to grace, then kills the child.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.exited:
	case <-t.C:
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// freeAddr returns a free 127.0.0.1:port (free when asked; a process that
// takes it first makes the child fail to start, which is reported).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("e2e: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
