package deploycheck

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// KubeVersion is the cluster version the chart is rendered for (its Chart.yaml asks
// for 1.30 or later: the preStop sleep action).
const KubeVersion = "v1.33.0"

// Render renders the chart at dir as release name in namespace with the values files
// (later ones win) and sets, like `helm template`: the manifests and the hooks, split
// into documents.
func Render(dir, name, namespace string, valueFiles []string, set []string) ([]string, error) {
	chart, err := loader.Load(dir)
	if err != nil {
		return nil, err
	}
	vals, err := (&values.Options{ValueFiles: valueFiles, Values: set}).MergeValues(getter.Providers{})
	if err != nil {
		return nil, err
	}
	install := action.NewInstall(new(action.Configuration))
	install.DryRun, install.ClientOnly, install.Replace = true, true, true
	install.ReleaseName, install.Namespace = name, namespace
	kv, err := chartutil.ParseKubeVersion(KubeVersion)
	if err != nil {
		return nil, err
	}
	install.KubeVersion = kv
	rel, err := install.Run(chart, vals)
	if err != nil {
		return nil, err
	}
	var all bytes.Buffer
	all.WriteString(rel.Manifest)
	for _, h := range rel.Hooks {
		fmt.Fprintf(&all, "\n---\n%s\n", h.Manifest)
	}
	docs := releaseutil.SplitManifests(all.String())
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var out []string
	for _, k := range keys {
		if strings.TrimSpace(stripComments(docs[k])) != "" {
			out = append(out, docs[k])
		}
	}
	return out, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// Object is one rendered object, decoded into its typed form.
type Object struct {
	Kind, Name string
	Value      any // *appsv1.Deployment, *corev1.Service, …, *ExternalSecret, *monitoringv1.PodMonitor or *monitoringv1.PrometheusRule
}

// kinds are the types the chart may render; anything else is refused.
var kinds = map[schema.GroupVersionKind]func() any{
	{Group: "", Version: "v1", Kind: "ConfigMap"}:                          func() any { return new(corev1.ConfigMap) },
	{Group: "", Version: "v1", Kind: "Service"}:                            func() any { return new(corev1.Service) },
	{Group: "", Version: "v1", Kind: "ServiceAccount"}:                     func() any { return new(corev1.ServiceAccount) },
	{Group: "apps", Version: "v1", Kind: "Deployment"}:                     func() any { return new(appsv1.Deployment) },
	{Group: "batch", Version: "v1", Kind: "Job"}:                           func() any { return new(batchv1.Job) },
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}: func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}:          func() any { return new(policyv1.PodDisruptionBudget) },
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}:     func() any { return new(networkingv1.NetworkPolicy) },
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}:           func() any { return new(networkingv1.Ingress) },
	{Group: "external-secrets.io", Version: "v1", Kind: "ExternalSecret"}:  func() any { return new(ExternalSecret) },
	// The Prometheus Operator's objects (observability.*), in the operator's own types.
	{Group: "monitoring.coreos.com", Version: "v1", Kind: "PodMonitor"}:     func() any { return new(monitoringv1.PodMonitor) },
	{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}: func() any { return new(monitoringv1.PrometheusRule) },
}

// Decode decodes one rendered document strictly: YAML with a duplicate key, a kind
// not in the list above, or a field its type does not have (or spelt in another case)
// fails.
func Decode(doc string) (Object, error) {
	js, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return Object{}, err
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &head); err != nil {
		return Object{}, err
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return Object{}, err
	}
	newValue, ok := kinds[gv.WithKind(head.Kind)]
	if !ok {
		return Object{}, fmt.Errorf("%s %s: kind not expected in the chart", head.APIVersion, head.Kind)
	}
	v := newValue()
	strict, err := sigsjson.UnmarshalStrict(js, v)
	if err != nil {
		return Object{}, fmt.Errorf("%s %s: %w", head.Kind, head.Metadata.Name, err)
	}
	if len(strict) > 0 {
		return Object{}, fmt.Errorf("%s %s: %w", head.Kind, head.Metadata.Name, errors.Join(strict...))
	}
	if head.Metadata.Name == "" {
		return Object{}, fmt.Errorf("%s without a name", head.Kind)
	}
	return Object{Kind: head.Kind, Name: head.Metadata.Name, Value: v}, nil
}

// DecodeAll decodes every document, joining the errors.
func DecodeAll(docs []string) ([]Object, error) {
	var objs []Object
	var errs []error
	for _, d := range docs {
		o, err := Decode(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, o)
	}
	return objs, errors.Join(errs...)
}
