// Package helm holds the test tying the Helm chart's list of services
// (healthcore/values.yaml) to the catalog and the proto access rules; the chart's
// rendering and policy checks are in tools/deploycheck (make deploy-check).
package helm

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"healthcore/internal/catalog"
	"healthcore/platform/authn"
	"healthcore/platform/config"
	"healthcore/platform/testkit"
)

type chartService struct {
	Name        string   `yaml:"name"`
	Port        int      `yaml:"port"`
	Callers     []string `yaml:"callers"`
	FromGateway bool     `yaml:"fromGateway"`
	Database    bool     `yaml:"database"`
	Egress      []string `yaml:"egress"`
}

func chartServices(t *testing.T) []chartService {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("healthcore", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Services []chartService `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.Services
}

// protoCallers maps each service to the services its RPCs' access rules name as
// internal callers, sorted.
func protoCallers() map[string][]string {
	out := map[string][]string{}
	for _, md := range testkit.RPCs() {
		callee := authn.CalleeOf("/" + string(md.Parent().FullName()) + "/" + string(md.Name()))
		for _, c := range authn.RuleOf(md).GetInternal().GetCallers() {
			if !slices.Contains(out[callee], c) {
				out[callee] = append(out[callee], c)
			}
		}
	}
	for _, cs := range out {
		slices.Sort(cs)
	}
	return out
}

// wiredClients maps each service to the services the catalog's code makes a client of
// it for (client(p, "<caller>", "<callee>", …) in internal/catalog): a public RPC
// (notifications asks directory's GetDoctor) names no internal caller, yet its caller
// must get through the callee's NetworkPolicy.
func wiredClients(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "internal", "catalog", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	re := regexp.MustCompile(`\bclient\(p, "([a-z]+)", "([a-z]+)",`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(out[m[2]], m[1]) {
				out[m[2]] = append(out[m[2]], m[1])
			}
		}
	}
	if len(out) < 5 {
		t.Fatalf("found only %v wired clients in internal/catalog: has the client helper changed?", out)
	}
	return out
}

// TestValues_ListTheCatalogsServicesWithTheirCallers: the chart's services are the
// catalog's, in its order, on its ports; each admits exactly the callers the proto
// access rules name (its NetworkPolicy is made from them), takes gateway traffic
// exactly when the gateway routes REST to it, and gets a database URL exactly when
// it owns a schema. The callers are the access rules' plus the services the catalog
// wires a client for to a public RPC of it.
func TestValues_ListTheCatalogsServicesWithTheirCallers(t *testing.T) {
	chart := chartServices(t)
	services := catalog.Services()
	if len(chart) != len(services) {
		t.Errorf("values.yaml lists %d services, the catalog %d (%v)", len(chart), len(services), catalog.Names())
	}
	callers := protoCallers()
	if len(callers) == 0 {
		t.Fatal("no internal caller found in the access rules: are the contracts registered?")
	}
	for callee, cs := range wiredClients(t) {
		for _, c := range cs {
			if !slices.Contains(callers[callee], c) {
				callers[callee] = append(callers[callee], c)
			}
		}
		slices.Sort(callers[callee])
	}
	for i, s := range services {
		if i >= len(chart) {
			t.Errorf("values.yaml misses %s (port %d)", s.Name, s.Port)
			continue
		}
		c := chart[i]
		if c.Name != s.Name || c.Port != s.Port {
			t.Errorf("values.yaml service %d is %s:%d, the catalog's is %s:%d", i, c.Name, c.Port, s.Name, s.Port)
			continue
		}
		got := slices.Sorted(slices.Values(c.Callers))
		if want := callers[s.Name]; !slices.Equal(got, want) {
			t.Errorf("%s: callers %v in values.yaml, the access rules name %v", s.Name, got, want)
		}
		if want := s.REST != nil; c.FromGateway != want {
			t.Errorf("%s: fromGateway %v, want %v (the gateway routes REST to it: %v)", s.Name, c.FromGateway, want, want)
		}
		if want := s.Schema != nil; c.Database != want {
			t.Errorf("%s: database %v, want %v (owns a schema: %v)", s.Name, c.Database, want, want)
		}
		for _, e := range c.Egress {
			if !slices.Contains([]string{"aws", "provider", "smtp", "whatsapp", "partners"}, e) {
				t.Errorf("%s: egress %q, want aws, provider, smtp, whatsapp or partners", s.Name, e)
			}
		}
	}
}

// TestChart_EveryVariableNamesAFlag: each HEALTHCORE_* variable the chart sets (its
// templates and values files, and the per-service address and URL it makes for every
// service) is the variable of a flag of healthcore serve and gateway, so none is
// silently ignored.
func TestChart_EveryVariableNamesAFlag(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	catalog.NewConfig(fs, false).RegisterServeFlags(fs)
	known := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { known[config.EnvName(f.Name)] = true })

	var used []string
	files, err := filepath.Glob(filepath.Join("healthcore", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	templates, err := filepath.Glob(filepath.Join("healthcore", "templates", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, templates...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		used = append(used, regexp.MustCompile(`\b`+config.Prefix+`[A-Z0-9_]*[A-Z0-9]\b`).FindAllString(string(b), -1)...)
	}
	for _, s := range catalog.Names() {
		used = append(used, config.EnvName(s+".addr"), config.EnvName(s+".url"))
	}
	if len(used) < 20 {
		t.Fatalf("found only %v: is the chart where this test looks?", used)
	}
	for _, v := range used {
		if !known[v] {
			t.Errorf("the chart sets %s, which is no flag's variable", v)
		}
	}
}

// TestValues_PartnerEdgeReachesThePartnerServicesAndIdentity: the partner edge's
// upstreams (its egress, and the ingress of each) are exactly the services with a
// method whose access rule admits partners, and identity, whose JWKS verifies their
// tokens.
func TestValues_PartnerEdgeReachesThePartnerServicesAndIdentity(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("healthcore", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		PartnerEdge struct {
			Upstreams []string `yaml:"upstreams"`
		} `yaml:"partnerEdge"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	want := []string{"identity"}
	for _, md := range testkit.RPCs() {
		if len(authn.RuleOf(md).GetPartner().GetScopes()) > 0 {
			callee := authn.CalleeOf("/" + string(md.Parent().FullName()) + "/" + string(md.Name()))
			if !slices.Contains(want, callee) {
				want = append(want, callee)
			}
		}
	}
	slices.Sort(want)
	if got := slices.Sorted(slices.Values(v.PartnerEdge.Upstreams)); !slices.Equal(got, want) {
		t.Errorf("partnerEdge.upstreams %v in values.yaml, want %v", got, want)
	}
}
