package deploycheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

var observabilityDir = filepath.Join("..", "..", "deploy", "observability")

// observabilityOn turns every observability object of the chart on.
var observabilityOn = []string{
	"observability.podMonitor.enabled=true", "observability.prometheusRule.enabled=true",
	"observability.grafanaDashboards.enabled=true", "observability.otlpEndpoint=http://adot-collector.opentelemetry:4317",
}

// TestChart_ObservabilityObjectsDecodeAndCarryTheConfigs: with observability on, the
// EKS values render a PodMonitor on the ops port, a PrometheusRule whose groups are
// exactly deploy/observability/prometheus/rules.yaml's, a ConfigMap per Grafana
// dashboard holding its JSON, the collector's endpoint in every container, and the
// collector's namespace admitted by the pods' egress policy; all decode strictly (the
// monitoring.coreos.com kinds into the Prometheus Operator's types) and the policy holds.
func TestChart_ObservabilityObjectsDecodeAndCarryTheConfigs(t *testing.T) {
	objs := rendered(t, valueSets["eks"], observabilityOn...)
	for _, v := range Policy(objs) {
		t.Error(v)
	}
	pm := byKind[*monitoringv1.PodMonitor](objs)["healthcore"]
	if pm == nil || len(pm.Spec.PodMetricsEndpoints) != 1 || pm.Spec.PodMetricsEndpoints[0].Port == nil || *pm.Spec.PodMetricsEndpoints[0].Port != "ops" {
		t.Errorf("PodMonitor %+v, want one endpoint on port ops", pm)
	}

	pr := byKind[*monitoringv1.PrometheusRule](objs)["healthcore"]
	if pr == nil {
		t.Fatal("no PrometheusRule")
	}
	file, err := os.ReadFile(filepath.Join(observabilityDir, "prometheus", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSONStrict(file)
	if err != nil {
		t.Fatal(err)
	}
	var want monitoringv1.PrometheusRuleSpec
	if strict, err := sigsjson.UnmarshalStrict(js, &want); err != nil || len(strict) > 0 {
		t.Fatalf("rules.yaml as a PrometheusRule spec: %v %v", err, strict)
	}
	if len(want.Groups) == 0 || !reflect.DeepEqual(pr.Spec, want) {
		t.Errorf("the PrometheusRule's %d groups differ from rules.yaml's %d", len(pr.Spec.Groups), len(want.Groups))
	}

	dashboards, _ := filepath.Glob(filepath.Join(observabilityDir, "grafana", "*.json"))
	cms := byKind[*corev1.ConfigMap](objs)
	for _, f := range dashboards {
		base := filepath.Base(f)
		cm := cms["healthcore-dashboard-"+strings.TrimSuffix(base, ".json")]
		if cm == nil || cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("no ConfigMap labelled for Grafana holds %s", base)
			continue
		}
		orig, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal([]byte(cm.Data[base]), &a); err != nil {
			t.Errorf("%s in its ConfigMap: %v", base, err)
		}
		if err := json.Unmarshal(orig, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s in its ConfigMap differs from the file", base)
		}
	}
	if len(dashboards) < 2 {
		t.Errorf("dashboards %v", dashboards)
	}

	for name, d := range byKind[*appsv1.Deployment](objs) {
		env := d.Spec.Template.Spec.Containers[0].Env
		if !slices.ContainsFunc(env, func(e corev1.EnvVar) bool {
			return e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT" && e.Value == "http://adot-collector.opentelemetry:4317"
		}) || !slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == "OTEL_SERVICE_NAME" && e.Value == name }) {
			t.Errorf("%s: no OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_SERVICE_NAME %s", name, name)
		}
	}
	common := byKind[*networkingv1.NetworkPolicy](objs)["healthcore-common"]
	if common == nil || !slices.ContainsFunc(common.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
		return len(r.To) == 1 && r.To[0].NamespaceSelector != nil &&
			r.To[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "opentelemetry" && len(r.Ports) == 2
	}) {
		t.Error("the pods' egress policy does not admit the collector's namespace on its OTLP ports")
	}
}

// TestChart_ObservabilityOffByDefault: without the Prometheus Operator's CRDs asked for,
// the chart renders none of its objects and no collector endpoint, but every pod still
// carries the scrape annotations naming the ops port.
func TestChart_ObservabilityOffByDefault(t *testing.T) {
	for name, files := range valueSets {
		objs := rendered(t, files)
		if n := len(byKind[*monitoringv1.PodMonitor](objs)) + len(byKind[*monitoringv1.PrometheusRule](objs)); n != 0 {
			t.Errorf("%s: %d Prometheus Operator objects rendered by default", name, n)
		}
		for dname, d := range byKind[*appsv1.Deployment](objs) {
			a := d.Spec.Template.Annotations
			if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != "9090" {
				t.Errorf("%s %s: scrape annotations %v", name, dname, a)
			}
			if slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Env, func(e corev1.EnvVar) bool { return strings.HasPrefix(e.Name, "OTEL_") }) {
				t.Errorf("%s %s: an OTEL_ variable without observability.otlpEndpoint", name, dname)
			}
		}
	}
}
