package deploycheck

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

var chartDir = filepath.Join("..", "..", "deploy", "helm", "healthcore")

// valueSets are the ways the chart is installed: its defaults alone and each
// environment's file over them.
var valueSets = map[string][]string{
	"defaults": nil,
	"dev":      {filepath.Join(chartDir, "values-dev.yaml")},
	"eks":      {filepath.Join(chartDir, "values-eks.yaml")},
}

type serviceValue struct {
	Name        string   `json:"name"`
	Port        int32    `json:"port"`
	Callers     []string `json:"callers"`
	FromGateway bool     `json:"fromGateway"`
	Database    bool     `json:"database"`
	Egress      []string `json:"egress"`
}

// partnerEdgeValue is values.yaml's partnerEdge.
type partnerEdgeValue struct {
	Port      int32    `json:"port"`
	Upstreams []string `json:"upstreams"`
}

func chartPartnerEdge(t *testing.T) partnerEdgeValue {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		PartnerEdge partnerEdgeValue `json:"partnerEdge"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.PartnerEdge.Port == 0 || len(v.PartnerEdge.Upstreams) == 0 {
		t.Fatal("values.yaml has no partnerEdge with a port and upstreams")
	}
	return v.PartnerEdge
}

func chartServices(t *testing.T) []serviceValue {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Services []serviceValue `json:"services"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Services) == 0 {
		t.Fatal("values.yaml lists no services")
	}
	return v.Services
}

func rendered(t *testing.T, files []string, set ...string) []Object {
	t.Helper()
	docs, err := Render(chartDir, "healthcore", "healthcore", files, set)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeAll(docs)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func byKind[T any](objs []Object) map[string]T {
	out := map[string]T{}
	for _, o := range objs {
		if v, ok := o.Value.(T); ok {
			out[o.Name] = v
		}
	}
	return out
}

func TestChart_EveryValuesFileRendersDecodesStrictlyAndFollowsThePolicy(t *testing.T) {
	services := chartServices(t)
	edge := chartPartnerEdge(t)
	for name, files := range valueSets {
		t.Run(name, func(t *testing.T) {
			objs := rendered(t, files)
			for _, v := range Policy(objs) {
				t.Error(v)
			}
			deployments := byKind[*appsv1.Deployment](objs)
			if got, want := len(deployments), len(services)+2; got != want {
				t.Errorf("%d Deployments, want %d (every service, the gateway and the partner edge)", got, want)
			}
			for _, s := range services {
				if slices.Contains(edge.Upstreams, s.Name) {
					s.Callers = append(slices.Clone(s.Callers), "partner-edge")
				}
				checkService(t, objs, s)
			}
			checkGateway(t, objs)
			checkPartnerEdge(t, objs, edge, services)
		})
	}
}

// checkService: the service's Deployment serves it on its port with gRPC health
// probes and a drain, and its NetworkPolicy admits exactly the callers values.yaml
// names (and the gateway when it routes to it).
func checkService(t *testing.T, objs []Object, s serviceValue) {
	t.Helper()
	name := "healthcore-" + s.Name
	d, ok := byKind[*appsv1.Deployment](objs)[name]
	if !ok {
		t.Errorf("no Deployment %s", name)
		return
	}
	c := d.Spec.Template.Spec.Containers[0]
	if want := []string{"serve", s.Name}; !slices.Equal(c.Args, want) {
		t.Errorf("%s: args %v, want %v", name, c.Args, want)
	}
	for probe, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil || p.GRPC == nil || p.GRPC.Port != s.Port {
			t.Errorf("%s: %s probe %+v, want gRPC health on port %d", name, probe, p, s.Port)
		}
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds <= 0 {
		t.Errorf("%s: no preStop sleep", name)
	}
	hasDB := slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "DATABASE_URL" })
	if hasDB != s.Database {
		t.Errorf("%s: DATABASE_URL set %v, want %v", name, hasDB, s.Database)
	}

	np, ok := byKind[*networkingv1.NetworkPolicy](objs)[name]
	if !ok {
		t.Errorf("no NetworkPolicy %s", name)
		return
	}
	var from []string
	for _, rule := range np.Spec.Ingress {
		for _, peer := range rule.From {
			if peer.PodSelector == nil || peer.NamespaceSelector != nil || peer.IPBlock != nil {
				t.Errorf("%s: ingress from %+v, want only pods of the release", name, peer)
				continue
			}
			from = append(from, peer.PodSelector.MatchLabels["app.kubernetes.io/component"])
		}
		if len(rule.Ports) != 1 || rule.Ports[0].Port.IntValue() != int(s.Port) {
			t.Errorf("%s: ingress ports %v, want only %d", name, rule.Ports, s.Port)
		}
	}
	want := slices.Clone(s.Callers)
	if s.FromGateway {
		want = append(want, "gateway")
	}
	slices.Sort(want)
	slices.Sort(from)
	if !slices.Equal(from, want) {
		t.Errorf("%s: ingress from %v, want %v", name, from, want)
	}
}

func checkGateway(t *testing.T, objs []Object) {
	t.Helper()
	d, ok := byKind[*appsv1.Deployment](objs)["healthcore-gateway"]
	if !ok {
		t.Error("no gateway Deployment")
		return
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"gateway"}) {
		t.Errorf("gateway args %v", c.Args)
	}
	for probe, want := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != "http" {
			t.Errorf("gateway probe %+v, want GET %s on the http port", probe, want)
		}
	}
	np := byKind[*networkingv1.NetworkPolicy](objs)["healthcore-gateway"]
	if np == nil {
		t.Error("no gateway NetworkPolicy")
		return
	}
	for _, rule := range np.Spec.Ingress {
		for _, peer := range rule.From {
			if peer.NamespaceSelector == nil && peer.IPBlock == nil && peer.PodSelector == nil {
				t.Errorf("gateway ingress from anywhere: %+v", peer)
			}
		}
	}
}

// checkPartnerEdge: the partner edge runs its command with gRPC health probes, its
// database and its call log's secret (no service key: it signs no service token),
// takes traffic from the load balancer's subnets only, and reaches exactly its
// upstreams.
func checkPartnerEdge(t *testing.T, objs []Object, edge partnerEdgeValue, services []serviceValue) {
	t.Helper()
	d, ok := byKind[*appsv1.Deployment](objs)["healthcore-partner-edge"]
	if !ok {
		t.Error("no partner-edge Deployment")
		return
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"partner-edge"}) {
		t.Errorf("partner-edge args %v", c.Args)
	}
	for probe, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil || p.GRPC == nil || p.GRPC.Port != edge.Port {
			t.Errorf("partner-edge: %s probe %+v, want gRPC health on port %d", probe, p, edge.Port)
		}
	}
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
	}
	for _, want := range []string{"DATABASE_URL", "HEALTHCORE_PARTNER_EDGE_CALL_LOG_SECRET", "HEALTHCORE_PARTNER_EDGE_ADDR"} {
		if !env[want] {
			t.Errorf("partner-edge: no %s", want)
		}
	}
	for _, m := range c.VolumeMounts {
		if m.Name == "service-keys" {
			t.Error("partner-edge mounts the service keys")
		}
	}
	np := byKind[*networkingv1.NetworkPolicy](objs)["healthcore-partner-edge"]
	if np == nil {
		t.Error("no partner-edge NetworkPolicy")
		return
	}
	for _, rule := range np.Spec.Ingress {
		for _, peer := range rule.From {
			if peer.IPBlock == nil || peer.PodSelector != nil || peer.NamespaceSelector != nil {
				t.Errorf("partner-edge ingress from %+v, want the load balancer's subnets only", peer)
			}
		}
	}
	var to []string
	for _, rule := range np.Spec.Egress {
		for _, peer := range rule.To {
			if peer.PodSelector != nil {
				to = append(to, peer.PodSelector.MatchLabels["app.kubernetes.io/component"])
			}
		}
	}
	slices.Sort(to)
	if want := slices.Sorted(slices.Values(edge.Upstreams)); !slices.Equal(to, want) {
		t.Errorf("partner-edge egress to %v, want its upstreams %v", to, want)
	}
}

func TestChart_EKSPartnerEdgeIsATLSNetworkLoadBalancer(t *testing.T) {
	objs := rendered(t, valueSets["eks"])
	svc := byKind[*corev1.Service](objs)["healthcore-partner-edge-public"]
	if svc == nil {
		t.Fatal("no public Service of the partner edge")
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("partner edge Service %+v, want a LoadBalancer on 443", svc.Spec)
	}
	for k, want := range map[string]string{
		"service.beta.kubernetes.io/aws-load-balancer-ssl-ports":       "443",
		"service.beta.kubernetes.io/aws-load-balancer-alpn-policy":     "HTTP2Preferred",
		"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
	} {
		if got := svc.Annotations[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if dev := byKind[*corev1.Service](rendered(t, valueSets["dev"]))["healthcore-partner-edge-public"]; dev != nil {
		t.Error("dev renders a load balancer for the partner edge")
	}
}

func TestChart_EKSIngressIsAnHTTPSALBCheckingHealthz(t *testing.T) {
	objs := rendered(t, valueSets["eks"])
	in := byKind[*networkingv1.Ingress](objs)["healthcore-gateway"]
	if in == nil {
		t.Fatal("no Ingress")
	}
	a := in.Annotations
	for k, want := range map[string]string{
		"alb.ingress.kubernetes.io/healthcheck-path": "/healthz",
		"alb.ingress.kubernetes.io/listen-ports":     `[{"HTTPS":443}]`,
		"alb.ingress.kubernetes.io/target-type":      "ip",
	} {
		if a[k] != want {
			t.Errorf("%s = %q, want %q", k, a[k], want)
		}
	}
	if !strings.Contains(a["alb.ingress.kubernetes.io/load-balancer-attributes"], "idle_timeout.timeout_seconds=") {
		t.Errorf("no idle timeout: %q", a["alb.ingress.kubernetes.io/load-balancer-attributes"])
	}
	sa := byKind[*corev1.ServiceAccount](objs)["healthcore-keys"]
	if sa == nil || !strings.HasPrefix(sa.Annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::") {
		t.Errorf("keys ServiceAccount without its IRSA role: %+v", sa)
	}
	if n := len(byKind[*ExternalSecret](objs)); n != 5 {
		t.Errorf("%d ExternalSecrets, want 5 (database, service keys, pix, notifications, partner edge)", n)
	}
}

func TestChart_RefusesTheLatestTag(t *testing.T) {
	_, err := Render(chartDir, "healthcore", "healthcore", nil, []string{"image.tag=latest"})
	if err == nil || !strings.Contains(err.Error(), "never latest") {
		t.Fatalf("got %v, want the chart to refuse image.tag=latest", err)
	}
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
  selector:
    matchLabels: {a: b}
  template:
    metadata:
      labels: {a: b}
    spec:
      containers:
        - name: x
          image: x:1
`

func TestDecode_RefusesWhatTheTypesDoNotHave(t *testing.T) {
	if _, err := Decode(deployment); err != nil {
		t.Fatalf("a valid Deployment: %v", err)
	}
	for name, doc := range map[string]string{
		"unknown field":   strings.Replace(deployment, "image: x:1", "image: x:1\n          imagePullPolice: Always", 1),
		"field's case":    strings.Replace(deployment, "matchLabels", "matchlabels", 1),
		"duplicate key":   strings.Replace(deployment, "  name: x\n", "  name: x\n  name: y\n", 1),
		"wrong type":      strings.Replace(deployment, "spec:\n  selector", "spec:\n  replicas: two\n  selector", 1),
		"unexpected kind": strings.Replace(deployment, "kind: Deployment", "kind: DaemonSet", 1),
	} {
		if _, err := Decode(doc); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// TestPolicy_ReportsEachBreach breaks a rendered release one way at a time and
// expects the policy to say so.
func TestPolicy_ReportsEachBreach(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func([]Object) []Object
		want   string
	}{
		{"no memory limit", func(objs []Object) []Object {
			delete(byKind[*appsv1.Deployment](objs)["healthcore-records"].Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
			return objs
		}, "Deployment healthcore-records, container records: no memory limit"},
		{"writable root", func(objs []Object) []Object {
			f := false
			byKind[*appsv1.Deployment](objs)["healthcore-gateway"].Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = &f
			return objs
		}, "Deployment healthcore-gateway, container gateway: root filesystem not read-only"},
		{"root user", func(objs []Object) []Object {
			var root int64
			byKind[*appsv1.Deployment](objs)["healthcore-keys"].Spec.Template.Spec.Containers[0].SecurityContext.RunAsUser = &root
			return objs
		}, "Deployment healthcore-keys, container keys: must run as a non-root user"},
		{"no readiness probe", func(objs []Object) []Object {
			byKind[*appsv1.Deployment](objs)["healthcore-pix"].Spec.Template.Spec.Containers[0].ReadinessProbe = nil
			return objs
		}, "Deployment healthcore-pix, container pix: needs a liveness and a readiness probe"},
		{"latest tag", func(objs []Object) []Object {
			byKind[*appsv1.Deployment](objs)["healthcore-blobs"].Spec.Template.Spec.Containers[0].Image = "healthcore:latest"
			return objs
		}, `image "healthcore:latest" names no version`},
		{"no PDB", func(objs []Object) []Object {
			return slices.DeleteFunc(objs, func(o Object) bool {
				_, ok := o.Value.(*policyv1.PodDisruptionBudget)
				return ok && o.Name == "healthcore-meetings"
			})
		}, "Deployment healthcore-meetings: no PodDisruptionBudget selects its pods"},
		{"no HPA", func(objs []Object) []Object {
			return slices.DeleteFunc(objs, func(o Object) bool { return o.Kind == "HorizontalPodAutoscaler" && o.Name == "healthcore-identity" })
		}, "Deployment healthcore-identity: no HorizontalPodAutoscaler scales it"},
		{"service without policy", func(objs []Object) []Object {
			return slices.DeleteFunc(objs, func(o Object) bool { return o.Kind == "NetworkPolicy" && o.Name == "healthcore-payments" })
		}, "Service healthcore-payments: no NetworkPolicy selecting its pods admits ingress to port 7005"},
		{"no default deny", func(objs []Object) []Object {
			return slices.DeleteFunc(objs, func(o Object) bool { return o.Name == "healthcore-default-deny" })
		}, "no default-deny NetworkPolicy"},
		{"GOMAXPROCS not from the CPU limit", func(objs []Object) []Object {
			c := &byKind[*appsv1.Deployment](objs)["healthcore-scheduling"].Spec.Template.Spec.Containers[0]
			c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMAXPROCS" })
			return objs
		}, "Deployment healthcore-scheduling, container scheduling: GOMAXPROCS must come from the container's limits.cpu"},
		{"no zone spread", func(objs []Object) []Object {
			byKind[*appsv1.Deployment](objs)["healthcore-directory"].Spec.Template.Spec.TopologySpreadConstraints = nil
			return objs
		}, "Deployment healthcore-directory: no topologySpreadConstraint over topology.kubernetes.io/zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Policy(tc.break_(rendered(t, valueSets["eks"])))
			if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, tc.want) }) {
				t.Errorf("policy said %q, want a breach containing %q", got, tc.want)
			}
		})
	}
}

// TestChart_TerminationOutlastsTheDrain: in every values set, a terminating pod sleeps
// in preStop for the ALB's deregistration delay (the same number), then drains for
// -drain-delay, and its grace period leaves at least 10 s more for calls in flight;
// and on EKS every Deployment keeps two replicas at least, so its PDB lets a node
// drain without taking the Deployment down.
func TestChart_TerminationOutlastsTheDrain(t *testing.T) {
	for name, files := range valueSets {
		t.Run(name, func(t *testing.T) {
			objs := rendered(t, files)
			cm := byKind[*corev1.ConfigMap](objs)["healthcore-config"]
			if cm == nil {
				t.Fatal("no ConfigMap healthcore-config")
			}
			drain, err := time.ParseDuration(cm.Data["HEALTHCORE_DRAIN_DELAY"])
			if err != nil || drain <= 0 {
				t.Fatalf("HEALTHCORE_DRAIN_DELAY %q: %v", cm.Data["HEALTHCORE_DRAIN_DELAY"], err)
			}
			var preStop int64
			for _, d := range byKind[*appsv1.Deployment](objs) {
				c := d.Spec.Template.Spec.Containers[0]
				preStop = c.Lifecycle.PreStop.Sleep.Seconds
				grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
				if need := time.Duration(preStop)*time.Second + drain + 10*time.Second; grace < need {
					t.Errorf("%s: grace period %v, want at least %v (preStop %ds + drain %v + 10s)", d.Name, grace, need, preStop, drain)
				}
			}
			if in := byKind[*networkingv1.Ingress](objs)["healthcore-gateway"]; in != nil {
				want := "deregistration_delay.timeout_seconds=" + strconv.FormatInt(preStop, 10)
				if got := in.Annotations["alb.ingress.kubernetes.io/target-group-attributes"]; got != want {
					t.Errorf("target group attributes %q, want %q (the preStop sleep)", got, want)
				}
			}
			if name != "eks" {
				return
			}
			for _, h := range byKind[*autoscalingv2.HorizontalPodAutoscaler](objs) {
				if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 {
					t.Errorf("%s: minReplicas %v, want at least 2", h.Name, h.Spec.MinReplicas)
				}
			}
		})
	}
}

// TestChart_NotificationsReachItsProvidersAndReadItsSecrets: on EKS notifications'
// pods may reach the AWS endpoints (SES) and the WhatsApp Cloud API on 443 and no SMTP
// server until network.smtp.cidrs names one (then on network.smtp.port only); they
// read their four secrets from the notifications Secret, optional each; and its
// ServiceAccount carries the IRSA role of notifications.json. On dev the sandbox's
// webhook gets through to the gateway.
func TestChart_NotificationsReachItsProvidersAndReadItsSecrets(t *testing.T) {
	egress := func(objs []Object) map[string][]int {
		np := byKind[*networkingv1.NetworkPolicy](objs)["healthcore-notifications"]
		if np == nil {
			t.Fatal("no NetworkPolicy healthcore-notifications")
		}
		out := map[string][]int{} // CIDR → ports
		for _, r := range np.Spec.Egress {
			for _, peer := range r.To {
				if peer.IPBlock == nil {
					continue
				}
				for _, p := range r.Ports {
					out[peer.IPBlock.CIDR] = append(out[peer.IPBlock.CIDR], p.Port.IntValue())
				}
			}
		}
		return out
	}
	eks := rendered(t, valueSets["eks"])
	got := egress(eks)
	want := map[string][]int{"0.0.0.0/0": {443}, "10.0.0.0/20": {443}, "10.0.16.0/20": {443}, "10.0.32.0/20": {443}}
	if len(got) != len(want) {
		t.Errorf("notifications egress %v, want %v", got, want)
	}
	for cidr, ports := range want {
		if !slices.Equal(got[cidr], ports) {
			t.Errorf("notifications egress to %s on %v, want %v", cidr, got[cidr], ports)
		}
	}
	smtp := egress(rendered(t, valueSets["eks"], "network.smtp.cidrs={203.0.113.0/24}", "network.smtp.port=2587"))
	if !slices.Equal(smtp["203.0.113.0/24"], []int{2587}) {
		t.Errorf("with network.smtp set, egress to the SMTP server on %v, want [2587]", smtp["203.0.113.0/24"])
	}

	d := byKind[*appsv1.Deployment](eks)["healthcore-notifications"]
	if d == nil {
		t.Fatal("no Deployment healthcore-notifications")
	}
	secrets := map[string]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil && r.SecretKeyRef.Name == "healthcore-notifications" {
			if r.SecretKeyRef.Optional == nil || !*r.SecretKeyRef.Optional {
				t.Errorf("%s: the Secret's key %s is not optional", e.Name, r.SecretKeyRef.Key)
			}
			secrets[e.Name] = r.SecretKeyRef.Key
		}
	}
	for env, key := range map[string]string{
		"HEALTHCORE_NOTIFICATIONS_SMTP_PASSWORD":         "smtp-password",
		"HEALTHCORE_NOTIFICATIONS_WHATSAPP_ACCESS_TOKEN": "whatsapp-access-token",
		"HEALTHCORE_NOTIFICATIONS_WHATSAPP_APP_SECRET":   "whatsapp-app-secret",
		"HEALTHCORE_NOTIFICATIONS_WHATSAPP_VERIFY_TOKEN": "whatsapp-verify-token",
	} {
		if secrets[env] != key {
			t.Errorf("%s from key %q of healthcore-notifications, want %q", env, secrets[env], key)
		}
	}
	if len(secrets) != 4 {
		t.Errorf("notifications reads %v from its Secret, want the four", secrets)
	}
	if _, ok := byKind[*ExternalSecret](eks)["healthcore-notifications"]; !ok {
		t.Error("no ExternalSecret healthcore-notifications")
	}
	if sa := byKind[*corev1.ServiceAccount](eks)["healthcore-notifications"]; sa == nil ||
		sa.Annotations["eks.amazonaws.com/role-arn"] != "arn:aws:iam::123456789012:role/healthcore-notifications" {
		t.Errorf("notifications ServiceAccount without its IRSA role: %+v", sa)
	}

	dev := rendered(t, valueSets["dev"])
	gw := byKind[*networkingv1.NetworkPolicy](dev)["healthcore-gateway"]
	var admits bool
	for _, r := range gw.Spec.Ingress {
		for _, peer := range r.From {
			if peer.PodSelector != nil && peer.PodSelector.MatchLabels["app.kubernetes.io/component"] == "notifications" {
				admits = true
			}
		}
	}
	if !admits {
		t.Error("dev: the gateway does not admit notifications, whose WhatsApp sandbox posts statuses to it")
	}
	if h := byKind[*autoscalingv2.HorizontalPodAutoscaler](dev)["healthcore-notifications"]; h == nil || h.Spec.MaxReplicas != 1 {
		t.Error("dev: notifications must run one replica (the sink's mail and the sandbox's secret live in the pod)")
	}
}
