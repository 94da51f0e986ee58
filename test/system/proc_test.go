package system

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one child process (ingest, writer, reconciler) with its output
// captured to a log file in the test's temp dir.
type proc struct {
	name    string // "writer-1"
	role    string // the binary
	logPath string
	cmd     *exec.Cmd
	logFile *os.File
	started time.Time

	done     chan struct{} // closed when the process has exited
	mu       sync.Mutex
	waitErr  error
	expected bool // the test stopped or killed it
}

// startProc runs binary role with env (the whole environment of the child)
// and returns at once; see waitReady.
func startProc(t testing.TB, dir, role, name string, env []string) *proc {
	t.Helper()
	p := &proc{name: name, role: role, logPath: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("%s: log file: %v", name, err)
	}
	fmt.Fprintf(f, "=== %s start %s\n", name, time.Now().Format(time.RFC3339Nano))
	p.logFile = f
	p.cmd = exec.Command(binary(role))
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		_ = f.Close()
		t.Fatalf("%s: start: %v", name, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		_ = f.Close()
		close(p.done)
	}()
	return p
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// unexpectedExit returns a description when the process exited without the
// test stopping it.
func (p *proc) unexpectedExit() string {
	if !p.exited() {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.expected {
		return ""
	}
	return fmt.Sprintf("%s (pid %d) exited on its own: %v", p.name, p.cmd.Process.Pid, p.waitErr)
}

// kill sends SIGKILL and waits for the exit.
func (p *proc) kill() {
	p.mu.Lock()
	p.expected = true
	p.mu.Unlock()
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// terminate sends SIGTERM (a clean shutdown), and SIGKILL after grace;
// it reports whether the process exited on its own.
func (p *proc) terminate(grace time.Duration) bool {
	p.mu.Lock()
	p.expected = true
	p.mu.Unlock()
	if p.exited() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(grace):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		return false
	}
}

// log returns the whole log.
func (p *proc) log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	return string(b)
}

// tail returns the last n lines of the log.
func (p *proc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// httpAddr returns the address the process printed as http_addr in its
// current run (the log file keeps earlier runs of the same name), or "".
func (p *proc) httpAddr() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	if i := bytes.LastIndex(data, []byte("=== "+p.name+" start")); i >= 0 {
		data = data[i:]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"http_addr"`)) {
			continue
		}
		var rec struct {
			HTTPAddr string `json:"http_addr"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.HTTPAddr != "" {
			return rec.HTTPAddr
		}
	}
	return ""
}

// ready asks /readyz once.
func (p *proc) ready(ctx context.Context) error {
	if p.exited() {
		p.mu.Lock()
		defer p.mu.Unlock()
		return fmt.Errorf("%s exited: %v", p.name, p.waitErr)
	}
	addr := p.httpAddr()
	if addr == "" {
		return fmt.Errorf("%s has not printed http_addr yet", p.name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s /readyz: %w", p.name, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s not ready: %d %s", p.name, resp.StatusCode, strings.TrimSpace(body.String()))
	}
	return nil
}

// waitReady waits until every process answers 200 on /readyz.
func waitReady(t testing.TB, timeout time.Duration, procs ...*proc) {
	t.Helper()
	checkFor(t, timeout, 100*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var errs []error
		for _, p := range procs {
			if err := p.ready(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// pause freezes the process (SIGSTOP): it holds its connections and
// whatever it had fetched, and does nothing, like a stalled machine.
func (p *proc) pause() { _ = p.cmd.Process.Signal(syscall.SIGSTOP) }

// resume undoes pause (SIGCONT).
func (p *proc) resume() { _ = p.cmd.Process.Signal(syscall.SIGCONT) }
