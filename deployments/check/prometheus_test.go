package check

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

const (
	rulesFile   = "deployments/prometheus/rules/syncline.rules.yml"
	runbookBase = "https://github.com/syncline/syncline/blob/main/docs/operations.md"
)

// nonCatalogMetrics are series the rules may use that no Syncline process
// exports: Prometheus' own.
var nonCatalogMetrics = map[string]bool{"up": true}

// requiredAlerts are the conditions operators asked to be paged for.
var requiredAlerts = []string{
	"SynclineWALLagGrowing", "SynclineDLQNotEmpty", "SynclineRootsOutOfSync",
	"SynclineWriterErrors", "SynclineWriterCircuitOpen", "SynclineNoReconcilerLeader",
	"SynclineStageNotReady",
}

var promqlParser = parser.NewParser(parser.Options{})

// metricNames returns the metric names an expression selects.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := promqlParser.ParseExpr(expr)
	require.NoError(t, err, "PromQL: %s", expr)
	var names []string
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName {
					name = m.Value
				}
			}
			require.NotEmpty(t, name, "selector without a metric name in %s", expr)
			names = append(names, name)
		}
		return nil
	})
	require.NotEmpty(t, names, "no metric in %s", expr)
	return names
}

// requireCataloged checks name against metrics.txt; histogram series
// (_bucket, _sum, _count) resolve to their base name.
func requireCataloged(t *testing.T, catalog map[string]bool, name, where string) string {
	t.Helper()
	if catalog[name] || nonCatalogMetrics[name] {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if ok && catalog[base] && !strings.HasSuffix(base, "_total") {
			return base
		}
	}
	t.Errorf("%s: metric %q is not in deployments/metrics.txt", where, name)
	return name
}

func TestPrometheusRules(t *testing.T) {
	t.Parallel()
	catalog := metricCatalog(t)
	anchors := docAnchors(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	groups, errs := rulefmt.Parse(readFile(t, rulesFile), false, model.UTF8Validation, promqlParser, logger)
	require.Empty(t, errs, "promtool-equivalent rule check")
	require.NotNil(t, groups)

	seen := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: only alerting rules here", g.Name)
			t.Run(r.Alert, func(t *testing.T) {
				require.False(t, seen[r.Alert], "duplicate alert")
				seen[r.Alert] = true
				require.True(t, strings.HasPrefix(r.Alert, "Syncline"))
				require.Contains(t, []string{"warning", "critical"}, r.Labels["severity"])
				require.NotZero(t, r.For, "alerts wait before firing")
				require.NotEmpty(t, r.Annotations["summary"])
				require.NotEmpty(t, r.Annotations["description"])
				require.Equal(t, runbookBase+"#"+strings.ToLower(r.Alert), r.Annotations["runbook_url"])
				u, err := url.Parse(r.Annotations["runbook_url"])
				require.NoError(t, err)
				require.True(t, anchors[u.Fragment], "runbook anchor #%s has no heading in docs/operations.md", u.Fragment)
				for _, name := range metricNames(t, r.Expr) {
					requireCataloged(t, catalog, name, r.Alert)
				}
			})
		}
	}
	for _, a := range requiredAlerts {
		require.True(t, seen[a], "alert %s missing", a)
	}
}

// grafanaVars replaces dashboard variables with values PromQL accepts.
var (
	grafanaDurations = regexp.MustCompile(`\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}`)
	grafanaVars      = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)
)

func expandGrafana(expr string) string {
	expr = grafanaDurations.ReplaceAllString(expr, "5m")
	return grafanaVars.ReplaceAllString(expr, ".*")
}

type dashPanel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	GridPos    map[string]int `json:"gridPos"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}

func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	catalog := metricCatalog(t)
	var dash struct {
		UID           string      `json:"uid"`
		Title         string      `json:"title"`
		SchemaVersion int         `json:"schemaVersion"`
		Panels        []dashPanel `json:"panels"`
		Templating    struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Query      any    `json:"query"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	dec := json.NewDecoder(strings.NewReader(string(readFile(t, "deployments/grafana/syncline.json"))))
	require.NoError(t, dec.Decode(&dash))
	require.Equal(t, "syncline", dash.UID)
	require.Positive(t, dash.SchemaVersion)

	vars := map[string]bool{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
		if v.Type == "query" {
			// label_values(metric, label) must name a cataloged metric.
			m := regexp.MustCompile(`label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)`).FindStringSubmatch(v.Definition)
			require.NotNil(t, m, "variable %s", v.Name)
			requireCataloged(t, catalog, m[1], "variable "+v.Name)
		}
	}
	require.True(t, vars["datasource"], "datasource variable (works with any Prometheus uid)")

	var panels []dashPanel
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			panels = append(panels, p)
			walk(p.Panels)
		}
	}
	walk(dash.Panels)

	used := map[string]bool{}
	ids := map[int]bool{}
	titles := map[string]bool{}
	for _, p := range panels {
		require.False(t, ids[p.ID], "panel id %d used twice", p.ID)
		ids[p.ID] = true
		require.NotEmpty(t, p.Title, "panel %d", p.ID)
		for _, k := range []string{"w", "h"} {
			require.Positive(t, p.GridPos[k], "panel %q gridPos.%s", p.Title, k)
		}
		require.LessOrEqual(t, p.GridPos["x"]+p.GridPos["w"], 24, "panel %q wider than the grid", p.Title)
		if p.Type == "row" {
			continue
		}
		titles[p.Title] = true
		require.NotNil(t, p.Datasource, "panel %q", p.Title)
		require.Equal(t, "prometheus", p.Datasource.Type)
		require.Equal(t, "${datasource}", p.Datasource.UID, "panel %q", p.Title)
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			require.False(t, refs[tg.RefID], "panel %q: refId %s twice", p.Title, tg.RefID)
			refs[tg.RefID] = true
			for _, name := range metricNames(t, expandGrafana(tg.Expr)) {
				used[requireCataloged(t, catalog, name, "panel "+p.Title)] = true
			}
		}
	}

	// The dashboard shows every metric the processes export.
	var missing []string
	for name := range catalog {
		if !used[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "metrics in metrics.txt that no dashboard panel shows")
}

func TestPrometheusScrapeKubernetes(t *testing.T) {
	t.Parallel()
	c := loadScrapeConfig(t, "deployments/prometheus/prometheus.yml")
	require.Len(t, c.ScrapeConfigs, 1)
	sc := c.ScrapeConfigs[0]
	require.Len(t, sc.KubernetesSDConfigs, 1)
	require.Equal(t, "pod", sc.KubernetesSDConfigs[0].Role)

	var cfgs []*relabel.Config
	for i := range sc.RelabelConfigs {
		var rc relabel.Config
		require.NoError(t, sc.RelabelConfigs[i].Decode(&rc))
		require.NoError(t, rc.Validate(model.UTF8Validation), "relabel_configs[%d]", i)
		cfgs = append(cfgs, &rc)
	}

	// The pods as Kubernetes SD describes them, built from the production
	// manifests' labels and annotations.
	m := build(t, "deployments/kubernetes/overlays/production")
	for _, w := range m.workloads() {
		lbls := map[string]string{
			"__address__":                 "10.1.2.3:8080",
			"__meta_kubernetes_namespace": "syncline",
			"__meta_kubernetes_pod_name":  w.name + "-abc12",
			"__meta_kubernetes_pod_phase": "Running",
		}
		for k, v := range w.template.Labels {
			lbls["__meta_kubernetes_pod_label_"+sanitize(k)] = v
		}
		for k, v := range w.template.Annotations {
			lbls["__meta_kubernetes_pod_annotation_"+sanitize(k)] = v
		}
		lb := labels.NewBuilder(labels.FromMap(lbls))
		keep := relabel.ProcessBuilder(lb, cfgs...)
		out := lb.Labels()
		comp := w.template.Labels["app.kubernetes.io/component"]
		if w.template.Labels["app.kubernetes.io/name"] != "syncline" {
			require.False(t, keep, "%s must not be scraped (no /metrics in Prometheus format)", w.name)
			continue
		}
		require.True(t, keep, "%s must be scraped", w.name)
		require.Equal(t, "10.1.2.3:"+w.template.Annotations["prometheus.io/port"], out.Get("__address__"))
		require.Equal(t, "/metrics", out.Get("__metrics_path__"))
		require.Equal(t, "syncline-"+comp, out.Get("job"))
		require.Equal(t, comp, out.Get("component"))
		require.Equal(t, "syncline", out.Get("namespace"))
		require.Equal(t, w.name+"-abc12", out.Get("pod"))

		lb = labels.NewBuilder(labels.FromMap(lbls))
		lb.Set("__meta_kubernetes_pod_phase", "Pending")
		require.False(t, relabel.ProcessBuilder(lb, cfgs...), "pending pods are not scraped")
	}
}

// sanitize turns a Kubernetes label or annotation key into the name
// Kubernetes SD gives it.
func sanitize(k string) string {
	return regexp.MustCompile(`[^a-zA-Z0-9_]`).ReplaceAllString(k, "_")
}
