package check

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const composeFile = "deployments/compose/docker-compose.yml"

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	path := repoPath(t, composeFile)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	// The compose-spec JSON schema is applied (SkipValidation is false),
	// then interpolation with an empty environment: the defaults in the file
	// must be enough to start.
	p, err := loader.LoadWithContext(t.Context(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: b}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName("syncline", true)
		o.ResolvePaths = true
	})
	require.NoError(t, err)
	return p
}

// composeComponent returns the Syncline component a service runs, or "".
func composeComponent(svc types.ServiceConfig) string {
	if len(svc.Command) == 0 {
		return ""
	}
	bin := filepath.Base(svc.Command[0])
	if _, ok := requiredEnv[bin]; ok && strings.HasPrefix(svc.Command[0], "/usr/local/bin/") {
		return bin
	}
	return ""
}

func TestCompose(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)

	counts := map[string]int{}
	natsServices := map[string]types.ServiceConfig{}
	for name, svc := range p.Services {
		if comp := composeComponent(svc); comp != "" {
			counts[comp]++
		}
		if strings.HasPrefix(svc.Image, "nats:") {
			natsServices[name] = svc
		}
		for _, v := range svc.Volumes {
			if v.Type == types.VolumeTypeBind {
				_, err := os.Stat(v.Source)
				require.NoError(t, err, "service %s: bind mount source", name)
			}
		}
		if svc.Build != nil {
			_, err := os.Stat(filepath.Join(svc.Build.Context, svc.Build.Dockerfile))
			require.NoError(t, err, "service %s: Dockerfile", name)
			require.Equal(t, repoPath(t, "."), filepath.Clean(svc.Build.Context), "build context is the repository root")
		}
	}
	require.Equal(t, map[string]int{"ingest": 2, "writer": 2, "reconciler": 2}, counts)
	require.Len(t, natsServices, 3, "3 NATS nodes")
	for _, name := range []string{"postgres", "redis", "prometheus", "grafana"} {
		requireKey(t, p.Services, name, "service")
	}

	natsUsers := checkComposeNATS(t, natsServices)

	for name, svc := range p.Services {
		comp := composeComponent(svc)
		if comp == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			env := svc.Environment
			for _, k := range requiredEnv[comp] {
				require.NotNil(t, env[k], "env %s", k)
			}
			require.Equal(t, comp, *env["SYNCLINE_NATS_USER"])
			require.Equal(t, natsUsers[comp], *env["SYNCLINE_NATS_PASSWORD"], "password of NATS user %s", comp)
			for _, u := range strings.Split(*env["SYNCLINE_NATS_URL"], ",") {
				pu, err := url.Parse(u)
				require.NoError(t, err)
				requireKey(t, natsServices, pu.Hostname(), "NATS URL host is a NATS service")
				require.Equal(t, "4222", pu.Port())
			}
			for _, dep := range []string{"postgres", "nats-1"} {
				requireKey(t, svc.DependsOn, dep, "depends_on")
			}
			sqlURL, err := url.Parse(*env["SYNCLINE_SQL_URL"])
			require.NoError(t, err)
			require.Equal(t, "postgres", sqlURL.Scheme)
			requireKey(t, p.Services, sqlURL.Hostname(), "SQL host")
			pw, _ := sqlURL.User.Password()
			require.Equal(t, *p.Services["postgres"].Environment["POSTGRES_PASSWORD"], pw)
			redisURL, err := url.Parse(*env["SYNCLINE_REDIS_URL"])
			require.NoError(t, err)
			requireKey(t, p.Services, redisURL.Hostname(), "Redis host")
		})
	}

	checkComposePrometheus(t, p)
}

// checkComposeNATS loads cluster.conf as each NATS container does (same
// files, same environment) and returns the users' passwords.
func checkComposeNATS(t *testing.T, natsServices map[string]types.ServiceConfig) map[string]string {
	t.Helper()
	var passwords map[string]string
	names := map[string]bool{}
	for name, svc := range natsServices {
		var confDir, conf string
		for _, v := range svc.Volumes {
			if v.Type == types.VolumeTypeBind && strings.HasPrefix(svc.Command[2], v.Target+"/") {
				confDir, conf = v.Source, filepath.Join(v.Source, strings.TrimPrefix(svc.Command[2], v.Target+"/"))
			}
		}
		require.NotEmpty(t, conf, "%s: --config %s is not in a bind mount", name, svc.Command)
		dir := t.TempDir()
		for _, f := range []string{"permissions.conf"} {
			b, err := os.ReadFile(filepath.Join(confDir, f))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
		}
		b, err := os.ReadFile(conf)
		require.NoError(t, err)
		var vars strings.Builder
		for k, v := range svc.Environment {
			if v != nil && strings.Contains(string(b), "$"+k) {
				fmt.Fprintf(&vars, "%s: %s\n", k, *v)
			}
		}
		path := filepath.Join(dir, filepath.Base(conf))
		require.NoError(t, os.WriteFile(path, []byte(vars.String()+string(b)), 0o600))
		opts, err := server.ProcessConfigFile(path)
		require.NoError(t, err, "%s: %s", name, conf)

		require.False(t, names[opts.ServerName], "server_name %s used twice", opts.ServerName)
		names[opts.ServerName] = true
		require.Len(t, opts.Routes, len(natsServices))
		for _, r := range opts.Routes {
			requireKey(t, natsServices, r.Hostname(), "route "+r.String())
			require.Equal(t, fmt.Sprint(opts.Cluster.Port), r.Port())
		}
		require.True(t, opts.JetStream)
		require.Equal(t, "/data/jetstream", opts.StoreDir)
		require.True(t, slices.ContainsFunc(svc.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Target == "/data"
		}), "%s: JetStream store on a named volume", name)

		pw := map[string]string{}
		for _, u := range opts.Users {
			pw[u.Username] = u.Password
		}
		if passwords == nil {
			passwords = pw
		}
		require.Equal(t, passwords, pw, "all nodes share the users")
	}
	return passwords
}

// scrapeConfig is the part of a Prometheus config these files use; decoded
// with unknown fields refused.
type scrapeConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName             string `yaml:"job_name"`
		KubernetesSDConfigs []struct {
			Role       string `yaml:"role"`
			Namespaces struct {
				Names []string `yaml:"names"`
			} `yaml:"namespaces"`
		} `yaml:"kubernetes_sd_configs"`
		StaticConfigs []struct {
			Targets []string          `yaml:"targets"`
			Labels  map[string]string `yaml:"labels"`
		} `yaml:"static_configs"`
		RelabelConfigs []yaml.Node `yaml:"relabel_configs"`
	} `yaml:"scrape_configs"`
}

func loadScrapeConfig(t *testing.T, rel string) scrapeConfig {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(string(readFile(t, rel))))
	dec.KnownFields(true)
	var c scrapeConfig
	require.NoError(t, dec.Decode(&c), rel)
	require.NotEmpty(t, c.ScrapeConfigs, rel)
	require.NotEmpty(t, c.RuleFiles, rel)
	return c
}

func checkComposePrometheus(t *testing.T, p *types.Project) {
	t.Helper()
	prom := p.Services["prometheus"]
	var cfgPath, rulesDir string
	for _, v := range prom.Volumes {
		switch v.Target {
		case "/etc/prometheus/prometheus.yml":
			cfgPath = v.Source
		case "/etc/prometheus/rules":
			rulesDir = v.Source
		}
	}
	require.NotEmpty(t, cfgPath, "prometheus config mount")
	require.Equal(t, repoPath(t, "deployments/prometheus/rules"), rulesDir)
	rel, err := filepath.Rel(repoPath(t, "."), cfgPath)
	require.NoError(t, err)
	c := loadScrapeConfig(t, filepath.ToSlash(rel))
	for _, rf := range c.RuleFiles {
		ok, err := filepath.Match(rf, "/etc/prometheus/rules/syncline.rules.yml")
		require.NoError(t, err)
		require.True(t, ok, "rule_files %s does not load the rules", rf)
	}

	// Every Syncline container is a target, on its HTTP port, in the job
	// of its component.
	scraped := map[string]string{}
	for _, sc := range c.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				require.NoError(t, err)
				svc, ok := p.Services[host]
				require.True(t, ok, "target %s is no compose service", target)
				_, addrPort, err := net.SplitHostPort(*svc.Environment["SYNCLINE_HTTP_ADDR"])
				require.NoError(t, err)
				require.Equal(t, addrPort, port, "target %s", target)
				comp := composeComponent(svc)
				require.Equal(t, "syncline-"+comp, sc.JobName)
				require.Equal(t, comp, st.Labels["component"])
				scraped[host] = sc.JobName
			}
		}
	}
	for name, svc := range p.Services {
		if composeComponent(svc) != "" {
			require.Contains(t, scraped, name, "service %s is not scraped", name)
		}
	}
}

func requireKey[V any](t *testing.T, m map[string]V, key, what string) {
	t.Helper()
	if _, ok := m[key]; !ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Fatalf("%s: %q is not one of %v", what, key, keys)
	}
}
