package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// readyTimeout bounds a stage's start, up to /readyz answering 200.
const readyTimeout = 90 * time.Second

// stopGrace is how long a stage may take to shut down after SIGTERM.
const stopGrace = 20 * time.Second

// pipeline is Syncline under test: reconciler, writers and ingest as child
// processes of one nats-server child.
type pipeline struct {
	bins   Binaries
	logDir string
	nats   *natsServer
	env    []string // shared SYNCLINE_* settings
	pprof  bool

	reconciler *child
	writers    []*child
	ingest     *child
}

// pipelineConfig is what the stages are started with.
type pipelineConfig struct {
	Prefix      string
	SQLURL      string
	RedisURL    string
	RedisPrefix string
	Durability  string
	Writers     int
	Pprof       bool
}

// startPipeline starts the reconciler, cfg.Writers writers and ingest, in
// that order, each once the previous one is ready.
func startPipeline(ctx context.Context, bins Binaries, ns *natsServer, logDir string, cfg pipelineConfig) (*pipeline, error) {
	p := &pipeline{bins: bins, logDir: logDir, nats: ns, pprof: cfg.Pprof, env: []string{
		"SYNCLINE_NATS_URL=" + ns.url,
		"SYNCLINE_PREFIX=" + cfg.Prefix,
		"SYNCLINE_SQL_URL=" + cfg.SQLURL,
		"SYNCLINE_REDIS_URL=" + cfg.RedisURL,
		"SYNCLINE_REDIS_PREFIX=" + cfg.RedisPrefix,
		"SYNCLINE_LOG_LEVEL=warn",
		fmt.Sprintf("SYNCLINE_PPROF=%t", cfg.Pprof),
	}}
	var err error
	if p.reconciler, err = p.start(ctx, "reconciler", "reconciler"); err != nil {
		p.stop()
		return nil, err
	}
	for range cfg.Writers {
		if err := p.addWriter(ctx); err != nil {
			p.stop()
			return nil, err
		}
	}
	if p.ingest, err = p.start(ctx, "ingest", "ingest", "SYNCLINE_DURABILITY="+cfg.Durability); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// addWriter starts one more writer process.
func (p *pipeline) addWriter(ctx context.Context) error {
	name := fmt.Sprintf("writer-%d", len(p.writers)+1)
	c, err := p.start(ctx, name, "writer", "SYNCLINE_WRITER_NAME="+name)
	if err != nil {
		return err
	}
	p.writers = append(p.writers, c)
	return nil
}

// start runs one stage binary and waits until it is ready.
func (p *pipeline) start(ctx context.Context, name, bin string, extra ...string) (*child, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := append(append(cleanEnv(), p.env...), "SYNCLINE_HTTP_ADDR="+addr)
	c, err := startChild(name, p.bins.Path(bin), nil, append(env, extra...), p.logDir)
	if err != nil {
		return nil, err
	}
	c.httpAddr = addr
	if p.pprof {
		c.profileURL = "http://" + addr + "/debug/pprof/profile"
	}
	if err := c.waitReady(ctx, readyTimeout); err != nil {
		c.stop(stopGrace)
		return nil, err
	}
	return c, nil
}

// procs lists every process of the pipeline, nats-server first.
func (p *pipeline) procs() []*child {
	out := []*child{p.nats.child}
	if p.ingest != nil {
		out = append(out, p.ingest)
	}
	out = append(out, p.writers...)
	if p.reconciler != nil {
		out = append(out, p.reconciler)
	}
	return out
}

// alive reports the first stage that has exited.
func (p *pipeline) alive() error {
	for _, c := range p.procs() {
		if err := c.alive(); err != nil {
			return err
		}
	}
	return nil
}

// stop stops ingest, then the writers, then the reconciler (the server is
// the caller's).
func (p *pipeline) stop() {
	if p.ingest != nil {
		p.ingest.stop(stopGrace)
	}
	var wg sync.WaitGroup
	for _, w := range p.writers {
		wg.Go(func() { w.stop(stopGrace) })
	}
	wg.Wait()
	if p.reconciler != nil {
		p.reconciler.stop(stopGrace)
	}
}

// cleanEnv is the bench's environment without SYNCLINE_* variables, so
// that a stage runs with the settings given here and nothing inherited.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCLINE_") {
			out = append(out, kv)
		}
	}
	return out
}

// profiler takes CPU profiles of processes while a phase runs.
type profiler struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// start begins a profile of each process that serves one, seconds long,
// saved as <dir>/<phase>-<process>.pprof.
func (pr *profiler) start(ctx context.Context, procs []*child, dir, phase string, seconds int) {
	for _, c := range procs {
		if c.profileURL == "" {
			continue
		}
		pr.wg.Go(func() {
			path := filepath.Join(dir, phase+"-"+c.name+".pprof")
			if err := fetchTo(ctx, fmt.Sprintf("%s?seconds=%d", c.profileURL, seconds), path); err != nil {
				pr.mu.Lock()
				pr.errs = append(pr.errs, fmt.Errorf("profile %s: %w", c.name, err))
				pr.mu.Unlock()
			}
		})
	}
}

// wait waits for every profile and returns what failed.
func (pr *profiler) wait() []error {
	pr.wg.Wait()
	return pr.errs
}

func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
