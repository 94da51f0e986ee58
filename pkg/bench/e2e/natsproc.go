package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
)

// natsServer is a nats-server child process with JetStream on a free
// loopback port: never the machine's NATS on 4222.
type natsServer struct {
	*child
	url string
}

// startNATS starts bin with JetStream stored under dir. syncAlways makes
// the server fsync before every acknowledgement (sync_interval: always);
// otherwise it syncs on its default interval.
func startNATS(ctx context.Context, name, bin, dir string, syncAlways bool, logDir string) (*natsServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	prof, err := freeAddr()
	if err != nil {
		return nil, err
	}
	sync := ""
	if syncAlways {
		sync = "  sync_interval: always\n"
	}
	conf := fmt.Sprintf("listen: %q\nprof_port: %s\nmax_payload: 1MB\njetstream {\n  store_dir: %q\n%s}\n",
		addr, prof[len("127.0.0.1:"):], filepath.Join(dir, "jetstream"), sync)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	confPath := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	c, err := startChild(name, bin, []string{"-c", confPath}, nil, logDir)
	if err != nil {
		return nil, err
	}
	s := &natsServer{child: c, url: "nats://" + addr}
	s.profileURL = "http://" + prof + "/debug/pprof/profile"
	deadline := time.Now().Add(30 * time.Second)
	for {
		nc, err := nats.Connect(s.url, nats.Timeout(time.Second))
		if err == nil {
			nc.Close()
			return s, nil
		}
		if err := c.alive(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			c.stop(5 * time.Second)
			return nil, fmt.Errorf("e2e: %s not accepting connections on %s: %w", name, addr, err)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			c.stop(5 * time.Second)
			return nil, err
		}
	}
}
