package deploycheck

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Policy returns what the rendered objects break of the deployment policy, one
// sentence each:
//   - every container has CPU and memory requests and limits, runs as a non-root
//     user with a read-only root filesystem, no privilege escalation, every
//     capability dropped and the RuntimeDefault seccomp profile;
//   - every Deployment's containers have liveness and readiness probes and take
//     GOMAXPROCS and GOMEMLIMIT from their CPU and memory limits, and its pods
//     spread over zones; every Deployment has a PodDisruptionBudget selecting its
//     pods and a HorizontalPodAutoscaler scaling it;
//   - every Service's pods are selected by a NetworkPolicy admitting ingress to the
//     Service's port, and a default-deny NetworkPolicy selects every pod;
//   - every image names a version or digest (no tag, or "latest", fails).
func Policy(objs []Object) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	var (
		deployments []*appsv1.Deployment
		pdbs        []*policyv1.PodDisruptionBudget
		hpas        []*autoscalingv2.HorizontalPodAutoscaler
		services    []*corev1.Service
		policies    []*networkingv1.NetworkPolicy
	)
	for _, o := range objs {
		switch x := o.Value.(type) {
		case *appsv1.Deployment:
			deployments = append(deployments, x)
			checkPod(bad, "Deployment "+x.Name, &x.Spec.Template.Spec, true)
			if !spreadsOverZones(x) {
				bad("Deployment %s: no topologySpreadConstraint over topology.kubernetes.io/zone selecting its pods", x.Name)
			}
		case *batchv1.Job:
			checkPod(bad, "Job "+x.Name, &x.Spec.Template.Spec, false)
		case *policyv1.PodDisruptionBudget:
			pdbs = append(pdbs, x)
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpas = append(hpas, x)
		case *corev1.Service:
			services = append(services, x)
		case *networkingv1.NetworkPolicy:
			policies = append(policies, x)
		}
	}
	for _, d := range deployments {
		pods := labels.Set(d.Spec.Template.Labels)
		if !slices.ContainsFunc(pdbs, func(p *policyv1.PodDisruptionBudget) bool { return selects(p.Spec.Selector, pods) }) {
			bad("Deployment %s: no PodDisruptionBudget selects its pods", d.Name)
		}
		if !slices.ContainsFunc(hpas, func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
			r := h.Spec.ScaleTargetRef
			return r.Kind == "Deployment" && r.APIVersion == "apps/v1" && r.Name == d.Name
		}) {
			bad("Deployment %s: no HorizontalPodAutoscaler scales it", d.Name)
		}
		if !slices.ContainsFunc(policies, func(p *networkingv1.NetworkPolicy) bool {
			return selects(&p.Spec.PodSelector, pods) && len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0 &&
				slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) &&
				slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}) {
			bad("Deployment %s: no default-deny NetworkPolicy (ingress and egress, no rules) selects its pods", d.Name)
		}
	}
	for _, s := range services {
		if len(s.Spec.Selector) == 0 {
			bad("Service %s: no selector, so no NetworkPolicy can cover it", s.Name)
			continue
		}
		pods := labels.Set(s.Spec.Selector)
		for _, port := range s.Spec.Ports {
			target := port.TargetPort.IntValue()
			if target == 0 {
				target = int(port.Port)
			}
			if !slices.ContainsFunc(policies, func(p *networkingv1.NetworkPolicy) bool {
				return selects(&p.Spec.PodSelector, pods) && admitsPort(p, target)
			}) {
				bad("Service %s: no NetworkPolicy selecting its pods admits ingress to port %d", s.Name, target)
			}
		}
	}
	return v
}

func checkPod(bad func(string, ...any), what string, pod *corev1.PodSpec, probes bool) {
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		at := fmt.Sprintf("%s, container %s", what, c.Name)
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				bad("%s: no %s request", at, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				bad("%s: no %s limit", at, r)
			}
		}
		if probes && (c.LivenessProbe == nil || c.ReadinessProbe == nil) {
			bad("%s: needs a liveness and a readiness probe", at)
		}
		if probes {
			for env, limit := range map[string]string{"GOMAXPROCS": "limits.cpu", "GOMEMLIMIT": "limits.memory"} {
				if !fromResource(c.Env, env, limit) {
					bad("%s: %s must come from the container's %s", at, env, limit)
				}
			}
		}
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		nonRoot := first(sc.RunAsNonRoot, psc.RunAsNonRoot)
		user := first(sc.RunAsUser, psc.RunAsUser)
		if nonRoot == nil || !*nonRoot || user == nil || *user == 0 {
			bad("%s: must run as a non-root user (runAsNonRoot and a runAsUser other than 0)", at)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			bad("%s: root filesystem not read-only", at)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			bad("%s: allowPrivilegeEscalation must be false", at)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			bad("%s: must drop ALL capabilities and add none", at)
		}
		seccomp := first(sc.SeccompProfile, psc.SeccompProfile)
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			bad("%s: seccomp profile must be RuntimeDefault", at)
		}
		if !pinned(c.Image) {
			bad("%s: image %q names no version (a tag other than latest, or a digest)", at, c.Image)
		}
	}
}

// pinned: the image reference has a digest, or a tag other than latest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash {
		return false
	}
	tag := image[colon+1:]
	return tag != "" && tag != "latest"
}

func first[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func selects(sel *metav1.LabelSelector, pods labels.Set) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && !s.Empty() && s.Matches(pods)
}

func spreadsOverZones(d *appsv1.Deployment) bool {
	return slices.ContainsFunc(d.Spec.Template.Spec.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool {
		return c.TopologyKey == "topology.kubernetes.io/zone" && selects(c.LabelSelector, d.Spec.Template.Labels)
	})
}

// admitsPort: the policy governs ingress and one of its rules admits port (a rule
// without ports admits every port).
func admitsPort(p *networkingv1.NetworkPolicy, port int) bool {
	if !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		return false
	}
	for _, rule := range p.Spec.Ingress {
		if len(rule.From) == 0 {
			continue // from anywhere: not a restriction
		}
		if len(rule.Ports) == 0 {
			return true
		}
		for _, rp := range rule.Ports {
			if rp.Port != nil && rp.Port.IntValue() == port {
				return true
			}
		}
	}
	return false
}

// fromResource reports whether env sets name from the container's resource (e.g.
// limits.cpu).
func fromResource(env []corev1.EnvVar, name, resource string) bool {
	i := slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == name })
	return i >= 0 && env[i].ValueFrom != nil && env[i].ValueFrom.ResourceFieldRef != nil &&
		env[i].ValueFrom.ResourceFieldRef.Resource == resource
}
