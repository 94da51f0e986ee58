package check

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// externalSecrets are the Secrets the manifests reference but never
// contain, with the keys they must have (docs/operations.md#secrets).
var externalSecrets = map[string][]string{
	"syncline-nats": {
		"ingest-password", "writer-password", "reconciler-password", "producer-password",
		"operator-password", "client-password", "sys-password",
	},
	"syncline-sql":   {"url"},
	"syncline-redis": {"url"},
}

// requiredEnv lists, per Syncline component, the environment the process
// needs (DESIGN.md §5).
var requiredEnv = map[string][]string{
	"ingest":     {"SYNCLINE_NATS_URL", "SYNCLINE_NATS_USER", "SYNCLINE_NATS_PASSWORD", "SYNCLINE_HTTP_ADDR", "SYNCLINE_PREFIX", "SYNCLINE_WAL_REPLICAS"},
	"writer":     {"SYNCLINE_NATS_URL", "SYNCLINE_NATS_USER", "SYNCLINE_NATS_PASSWORD", "SYNCLINE_HTTP_ADDR", "SYNCLINE_PREFIX", "SYNCLINE_WAL_REPLICAS", "SYNCLINE_SQL_URL"},
	"reconciler": {"SYNCLINE_NATS_URL", "SYNCLINE_NATS_USER", "SYNCLINE_NATS_PASSWORD", "SYNCLINE_HTTP_ADDR", "SYNCLINE_PREFIX", "SYNCLINE_WAL_REPLICAS", "SYNCLINE_SQL_URL", "SYNCLINE_REDIS_URL", "SYNCLINE_REDIS_PREFIX"},
}

var hashSuffix = regexp.MustCompile(`-[a-z0-9]{10}$`)

// manifests is the strictly decoded output of one kustomize build.
type manifests struct {
	objects      []runtime.Object
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap // by generated name (with hash)
	generated    map[string]string            // original name -> generated name
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	pdbs         []*policyv1.PodDisruptionBudget
	netpols      []*networkingv1.NetworkPolicy
	namespaces   []*corev1.Namespace
}

// workload is a pod template with its owner's identity.
type workload struct {
	kind, name string
	selector   *metav1.LabelSelector
	template   *corev1.PodTemplateSpec
}

func (m *manifests) workloads() []workload {
	var ws []workload
	for _, d := range m.deployments {
		ws = append(ws, workload{"Deployment", d.Name, d.Spec.Selector, &d.Spec.Template})
	}
	for _, s := range m.statefulSets {
		ws = append(ws, workload{"StatefulSet", s.Name, s.Spec.Selector, &s.Spec.Template})
	}
	slices.SortFunc(ws, func(a, b workload) int { return strings.Compare(a.kind+a.name, b.kind+b.name) })
	return ws
}

func k8sCodec(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme,
		policyv1.AddToScheme, networkingv1.AddToScheme,
	} {
		require.NoError(t, add(scheme))
	}
	// Strict: unknown and duplicate fields are errors, so a misspelled or
	// misplaced field fails instead of being silently dropped.
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Strict: true})
}

// build runs kustomize on dir (relative to the repository root) with the
// options `kubectl apply -k` uses, and strictly decodes every object.
func build(t *testing.T, dir string) *manifests {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), repoPath(t, dir))
	require.NoError(t, err, "kustomize build %s", dir)
	codec := k8sCodec(t)
	m := &manifests{
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		generated: map[string]string{},
	}
	for _, res := range resMap.Resources() {
		id := res.CurId().String()
		b, err := res.MarshalJSON()
		require.NoError(t, err, id)
		obj, _, err := codec.Decode(b, nil, nil)
		require.NoError(t, err, "%s: %s", dir, id)
		m.objects = append(m.objects, obj)
		if res.GetKind() == "ConfigMap" {
			// Generated ConfigMaps carry a content hash suffix.
			m.generated[hashSuffix.ReplaceAllString(res.GetName(), "")] = res.GetName()
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			m.deployments[o.Name] = o
		case *appsv1.StatefulSet:
			m.statefulSets[o.Name] = o
		case *corev1.Service:
			m.services[o.Name] = o
		case *corev1.ConfigMap:
			m.configMaps[o.Name] = o
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.hpas = append(m.hpas, o)
		case *policyv1.PodDisruptionBudget:
			m.pdbs = append(m.pdbs, o)
		case *networkingv1.NetworkPolicy:
			m.netpols = append(m.netpols, o)
		case *corev1.Namespace:
			m.namespaces = append(m.namespaces, o)
		case *corev1.ServiceAccount:
		default:
			t.Fatalf("%s: %s: kind not expected here (%T)", dir, id, obj)
		}
	}
	return m
}

func TestKustomizeBase(t *testing.T) {
	t.Parallel()
	m := build(t, "deployments/kubernetes/base")
	checkManifests(t, m)
}

func TestKustomizeProduction(t *testing.T) {
	t.Parallel()
	m := build(t, "deployments/kubernetes/overlays/production")
	checkManifests(t, m)

	require.Len(t, m.namespaces, 1)
	ns := m.namespaces[0].Name
	for _, obj := range m.objects {
		meta, ok := obj.(metav1.Object)
		require.True(t, ok)
		if _, isNS := obj.(*corev1.Namespace); isNS {
			continue
		}
		require.Equal(t, ns, meta.GetNamespace(), "%T %s not in namespace %s", obj, meta.GetName(), ns)
	}

	require.EqualValues(t, 2, *m.deployments["syncline-writer"].Spec.Replicas, "writers")
	require.EqualValues(t, 2, *m.deployments["syncline-reconciler"].Spec.Replicas, "reconcilers (one active, one standby)")
	nats := m.statefulSets["nats"]
	require.EqualValues(t, 3, *nats.Spec.Replicas)
	aff := nats.Spec.Template.Spec.Affinity
	require.NotNil(t, aff)
	require.NotNil(t, aff.PodAntiAffinity)
	require.Empty(t, aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	require.Len(t, aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, 1,
		"production NATS nodes must be on distinct hosts")
	for _, w := range m.workloads() {
		for _, c := range w.template.Spec.Containers {
			require.NotContains(t, []string{"", "latest"}, imageTag(c.Image), "%s: pin the image tag of %s", w.name, c.Name)
		}
	}
}

func imageTag(image string) string {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return ""
}

// checkManifests checks the cross-object invariants kube-apiserver does not
// check at apply time (it takes any selector, any port name, any Secret).
func checkManifests(t *testing.T, m *manifests) {
	t.Helper()
	cfg := m.configMaps[m.generated["syncline-config"]]
	require.NotNil(t, cfg, "ConfigMap syncline-config")

	for _, w := range m.workloads() {
		t.Run(w.kind+"/"+w.name, func(t *testing.T) {
			sel, err := metav1.LabelSelectorAsSelector(w.selector)
			require.NoError(t, err)
			require.False(t, sel.Empty(), "empty selector")
			require.True(t, sel.Matches(labels.Set(w.template.Labels)), "selector %s does not match template labels %v", sel, w.template.Labels)
			checkPodSpec(t, m, w, cfg)
		})
	}

	for _, svc := range m.services {
		w := matchWorkload(t, m, svc.Spec.Selector)
		require.NotNil(t, w, "Service %s selects no workload", svc.Name)
		for _, p := range svc.Spec.Ports {
			if p.TargetPort.Type == 1 { // named
				require.NotNil(t, findPort(w.template, p.TargetPort.StrVal), "Service %s: no container port named %q in %s", svc.Name, p.TargetPort.StrVal, w.name)
			}
		}
	}
	for _, pdb := range m.pdbs {
		require.NotNil(t, matchWorkload(t, m, pdb.Spec.Selector.MatchLabels), "PDB %s selects no workload", pdb.Name)
	}
	for _, np := range m.netpols {
		require.NotNil(t, matchWorkload(t, m, np.Spec.PodSelector.MatchLabels), "NetworkPolicy %s selects no workload", np.Name)
	}
	for _, hpa := range m.hpas {
		ref := hpa.Spec.ScaleTargetRef
		require.Equal(t, "Deployment", ref.Kind)
		require.Equal(t, "apps/v1", ref.APIVersion)
		d := m.deployments[ref.Name]
		require.NotNil(t, d, "HPA %s: no Deployment %s", hpa.Name, ref.Name)
		require.Nil(t, d.Spec.Replicas, "Deployment %s is scaled by HPA %s: a replicas field would reset it on every apply", d.Name, hpa.Name)
		require.NotNil(t, hpa.Spec.MinReplicas)
		require.LessOrEqual(t, *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
		for _, metric := range hpa.Spec.Metrics {
			if metric.Resource != nil && metric.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
				for _, c := range d.Spec.Template.Spec.Containers {
					_, ok := c.Resources.Requests[metric.Resource.Name]
					require.True(t, ok, "HPA %s scales on %s utilization but container %s has no %s request", hpa.Name, metric.Resource.Name, c.Name, metric.Resource.Name)
				}
			}
		}
	}

	// The stages' NATS URL points at a Service of this build.
	natsURL, err := url.Parse(cfg.Data["SYNCLINE_NATS_URL"])
	require.NoError(t, err)
	host, port, err := net.SplitHostPort(natsURL.Host)
	require.NoError(t, err)
	svc := m.services[host]
	require.NotNil(t, svc, "SYNCLINE_NATS_URL host %q is no Service", host)
	require.True(t, slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return strconv.Itoa(int(p.Port)) == port }),
		"Service %s has no port %s", host, port)

	checkNATSStatefulSet(t, m, cfg)
}

func matchWorkload(t *testing.T, m *manifests, sel map[string]string) *workload {
	t.Helper()
	require.NotEmpty(t, sel, "empty selector")
	for _, w := range m.workloads() {
		if labels.SelectorFromSet(sel).Matches(labels.Set(w.template.Labels)) {
			return &w
		}
	}
	return nil
}

func findPort(tpl *corev1.PodTemplateSpec, name string) *corev1.ContainerPort {
	for _, c := range tpl.Spec.Containers {
		for i, p := range c.Ports {
			if p.Name == name {
				return &c.Ports[i]
			}
		}
	}
	return nil
}

func checkPodSpec(t *testing.T, m *manifests, w workload, cfg *corev1.ConfigMap) {
	t.Helper()
	spec := w.template.Spec
	require.NotNil(t, spec.AutomountServiceAccountToken)
	require.False(t, *spec.AutomountServiceAccountToken, "no Kubernetes API access needed")
	require.NotNil(t, spec.SecurityContext.RunAsNonRoot)
	require.True(t, *spec.SecurityContext.RunAsNonRoot)

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		if v.ConfigMap != nil {
			require.Contains(t, m.configMaps, v.ConfigMap.Name, "volume %s: ConfigMap not in build", v.Name)
		}
		require.Nil(t, v.Secret, "volume %s: mount Secrets through env from the external Secrets", v.Name)
	}
	for _, c := range spec.Containers {
		env := map[string]corev1.EnvVar{}
		for _, ef := range c.EnvFrom {
			require.NotNil(t, ef.ConfigMapRef, "%s: envFrom only from ConfigMaps of the build", c.Name)
			cm := m.configMaps[ef.ConfigMapRef.Name]
			require.NotNil(t, cm, "%s: envFrom ConfigMap %s not in build", c.Name, ef.ConfigMapRef.Name)
			for k, v := range cm.Data {
				env[k] = corev1.EnvVar{Name: k, Value: v}
			}
		}
		for _, e := range c.Env {
			env[e.Name] = e
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				keys, ok := externalSecrets[ref.Name]
				require.True(t, ok, "%s: env %s: Secret %q is not one of the documented external Secrets", c.Name, e.Name, ref.Name)
				require.Contains(t, keys, ref.Key, "%s: env %s: Secret %s has no documented key %q", c.Name, e.Name, ref.Name, ref.Key)
			}
			if e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil {
				r := e.ValueFrom.ResourceFieldRef.Resource
				name := corev1.ResourceName(strings.TrimPrefix(r, "limits."))
				if strings.HasPrefix(r, "limits.") {
					_, ok := c.Resources.Limits[name]
					require.True(t, ok, "%s: env %s reads %s but no limit is set", c.Name, e.Name, r)
				}
			}
		}
		for _, vm := range c.VolumeMounts {
			_, isVol := volumes[vm.Name]
			isPVC := false
			if sts, ok := m.statefulSets[w.name]; ok && w.kind == "StatefulSet" {
				isPVC = slices.ContainsFunc(sts.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == vm.Name })
			}
			require.True(t, isVol || isPVC, "%s: volumeMount %s has no volume", c.Name, vm.Name)
		}
		require.NotNil(t, c.SecurityContext, "%s: securityContext", c.Name)
		require.NotNil(t, c.SecurityContext.AllowPrivilegeEscalation)
		require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
		_, hasMemLimit := c.Resources.Limits[corev1.ResourceMemory]
		require.True(t, hasMemLimit, "%s: memory limit", c.Name)

		for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if p == nil || p.HTTPGet == nil {
				continue
			}
			if p.HTTPGet.Port.Type == 1 {
				require.NotNil(t, findPort(w.template, p.HTTPGet.Port.StrVal), "%s: probe port %q not declared", c.Name, p.HTTPGet.Port.StrVal)
			}
		}

		comp := w.template.Labels["app.kubernetes.io/component"]
		if w.template.Labels["app.kubernetes.io/name"] != "syncline" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			require.Contains(t, requiredEnv, comp, "unknown Syncline component %q", comp)
			require.Equal(t, []string{"/usr/local/bin/" + comp}, c.Command, "binary built by deployments/docker/Dockerfile")
			for _, name := range requiredEnv[comp] {
				require.Contains(t, env, name, "env %s", name)
			}
			require.Equal(t, comp, env["SYNCLINE_NATS_USER"].Value, "NATS user = role (deployments/nats/permissions.conf)")
			require.Equal(t, comp+"-password", env["SYNCLINE_NATS_PASSWORD"].ValueFrom.SecretKeyRef.Key)

			// Probes: ready only from `ready` on (DESIGN §5), alive otherwise.
			require.NotNil(t, c.ReadinessProbe)
			require.NotNil(t, c.LivenessProbe)
			require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
			require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
			httpPort := findPort(w.template, c.ReadinessProbe.HTTPGet.Port.StrVal)
			require.NotNil(t, httpPort)
			require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)

			// The process listens where the probes and Prometheus look.
			_, addrPort, err := net.SplitHostPort(env["SYNCLINE_HTTP_ADDR"].Value)
			require.NoError(t, err)
			require.Equal(t, strconv.Itoa(int(httpPort.ContainerPort)), addrPort, "SYNCLINE_HTTP_ADDR port")
			host, _, _ := net.SplitHostPort(env["SYNCLINE_HTTP_ADDR"].Value)
			require.NotEqual(t, "127.0.0.1", host, "SYNCLINE_HTTP_ADDR must listen beyond loopback for probes")
			ann := w.template.Annotations
			require.Equal(t, "true", ann["prometheus.io/scrape"])
			require.Equal(t, addrPort, ann["prometheus.io/port"])
			require.Equal(t, "/metrics", ann["prometheus.io/path"])

			// Streams need as many NATS nodes as replicas.
			replicas, err := strconv.Atoi(env["SYNCLINE_WAL_REPLICAS"].Value)
			require.NoError(t, err)
			nats := m.statefulSets["nats"]
			require.NotNil(t, nats)
			require.GreaterOrEqual(t, int(*nats.Spec.Replicas), replicas, "SYNCLINE_WAL_REPLICAS > NATS nodes")
		})
	}
}

// checkNATSStatefulSet loads the generated nats.conf exactly as the pod
// sees it (files of the ConfigMap, env of the container) and checks that it
// agrees with the StatefulSet, its Services and its volumes.
func checkNATSStatefulSet(t *testing.T, m *manifests, _ *corev1.ConfigMap) {
	t.Helper()
	sts := m.statefulSets["nats"]
	require.NotNil(t, sts, "StatefulSet nats")
	headless := m.services[sts.Spec.ServiceName]
	require.NotNil(t, headless, "serviceName %s", sts.Spec.ServiceName)
	require.Equal(t, "None", headless.Spec.ClusterIP, "serviceName must be headless")
	require.True(t, headless.Spec.PublishNotReadyAddresses, "routes resolve peers before they are ready")

	c := sts.Spec.Template.Spec.Containers[0]
	var cmName, mountPath string
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
			for _, vm := range c.VolumeMounts {
				if vm.Name == v.Name {
					mountPath = vm.MountPath
				}
			}
		}
	}
	cm := m.configMaps[cmName]
	require.NotNil(t, cm)
	dir := t.TempDir()
	for name, data := range cm.Data {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600))
	}
	confArg := c.Command[slices.Index(c.Command, "--config")+1]
	require.Equal(t, mountPath, filepath.Dir(confArg), "--config not in the ConfigMap mount")
	require.Equal(t, string(readFile(t, "deployments/nats/permissions.conf")), cm.Data["permissions.conf"],
		"base/nats/permissions.conf must be a copy of deployments/nats/permissions.conf")

	// The server resolves $NAME from its environment; variables defined at
	// the top of the file take precedence, so the container's env goes
	// there (only what the config references: other top-level keys are
	// unknown fields). A referenced variable the container lacks fails.
	conf := cm.Data[filepath.Base(confArg)]
	var vars strings.Builder
	for _, e := range c.Env {
		v := e.Value
		switch {
		case e.ValueFrom == nil:
		case e.ValueFrom.FieldRef != nil:
			require.Equal(t, "metadata.name", e.ValueFrom.FieldRef.FieldPath)
			v = sts.Name + "-0"
		case e.ValueFrom.SecretKeyRef != nil:
			v = "secret-" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom.ResourceFieldRef != nil:
			v = "1"
		}
		if strings.Contains(conf, "$"+e.Name) {
			// Unquoted, as the server parses an environment value.
			fmt.Fprintf(&vars, "%s: %s\n", e.Name, v)
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(confArg)), []byte(vars.String()+conf), 0o600))
	opts, err := server.ProcessConfigFile(filepath.Join(dir, filepath.Base(confArg)))
	require.NoError(t, err, "nats.conf of ConfigMap %s", cmName)

	require.Equal(t, sts.Name+"-0", opts.ServerName)
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = int(p.ContainerPort)
	}
	require.Equal(t, ports["client"], opts.Port)
	require.Equal(t, ports["cluster"], opts.Cluster.Port)
	require.Equal(t, ports["monitor"], opts.HTTPPort)
	require.True(t, opts.JetStream)

	require.Len(t, opts.Routes, int(*sts.Spec.Replicas), "one route per node")
	for i, r := range opts.Routes {
		require.Equal(t, fmt.Sprintf("%s-%d.%s", sts.Name, i, sts.Spec.ServiceName), r.Hostname())
		require.Equal(t, strconv.Itoa(ports["cluster"]), r.Port())
	}

	// The JetStream store fits its volume, with room for compaction.
	var pvc *corev1.PersistentVolumeClaim
	for i, p := range sts.Spec.VolumeClaimTemplates {
		for _, vm := range c.VolumeMounts {
			if vm.Name == p.Name && strings.HasPrefix(opts.StoreDir, vm.MountPath+"/") {
				pvc = &sts.Spec.VolumeClaimTemplates[i]
			}
		}
	}
	require.NotNil(t, pvc, "store_dir %s is not on a PVC", opts.StoreDir)
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	limit := resource.NewQuantity(opts.JetStreamMaxStore, resource.BinarySI)
	require.Positive(t, opts.JetStreamMaxStore)
	require.LessOrEqual(t, float64(opts.JetStreamMaxStore), 0.95*float64(size.Value()),
		"max_file_store %s must stay below the PVC size %s", limit, size.String())

	// Every Syncline stage logs in as a user of the SYNCLINE account.
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	for comp := range requiredEnv {
		u := users[comp]
		require.NotNil(t, u, "NATS user %s", comp)
		require.Equal(t, "SYNCLINE", u.Account.Name)
		require.Equal(t, "secret-"+comp+"-password", u.Password)
	}
}
