package catalog

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

// TestInternalCallers_AreServicesOfTheCatalog walks every RPC of the contracts (all
// registered, since the catalog links every service): an internal method's callers
// must be services that exist, and not the service itself.
func TestInternalCallers_AreServicesOfTheCatalog(t *testing.T) {
	internal := 0
	for _, md := range testkit.RPCs() {
		rule := authn.RuleOf(md)
		if rule.GetInternal() == nil {
			continue
		}
		internal++
		callee := authn.CalleeOf("/" + string(md.Parent().FullName()) + "/" + string(md.Name()))
		if !Has(callee) {
			t.Errorf("%s belongs to %q, which is not a service of the catalog", md.FullName(), callee)
		}
		for _, caller := range rule.GetInternal().GetCallers() {
			switch {
			case !Has(caller):
				t.Errorf("%s lists caller %q, which is not a service of the catalog (%s)", md.FullName(), caller, strings.Join(Names(), ", "))
			case caller == callee:
				t.Errorf("%s lists its own service %q as a caller", md.FullName(), caller)
			}
		}
	}
	if internal == 0 {
		t.Fatal("no internal RPC found: are the contracts registered?")
	}
}

func TestTestkitServices_AreTheCatalogs(t *testing.T) {
	if got, want := slices.Sorted(slices.Values(testkit.Services)), slices.Sorted(slices.Values(Names())); !slices.Equal(got, want) {
		t.Errorf("testkit.Services = %v, want the catalog's %v: every service needs a test service key", got, want)
	}
}

func parsed(t *testing.T, args ...string) *Config {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := NewConfig(fs, false)
	if err := cfg.Parse(fs, args); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestOpenServiceKeys_ServeNeedsTheFolder(t *testing.T) {
	err := parsed(t).OpenServiceKeys([]string{"records"}, false)
	if err == nil || !strings.Contains(err.Error(), "-service-keys (HEALTHCORE_SERVICE_KEYS) is required") {
		t.Fatalf("got %v, want the flag and its variable named", err)
	}
}

func TestOpenServiceKeys_DevMakesEveryServicesKeysInMemory(t *testing.T) {
	cfg := parsed(t)
	if err := cfg.OpenServiceKeys(Names(), true); err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		if !cfg.serviceKeys.CanSign(name) {
			t.Errorf("dev cannot sign as %s", name)
		}
	}
}

func TestOpenServiceKeys_ReadsEveryPublicKeyAndOnlyTheRunServicesPrivateKeys(t *testing.T) {
	dir := t.TempDir()
	if err := authn.WriteServiceKeys(dir, Names()); err != nil {
		t.Fatal(err)
	}
	cfg := parsed(t, "-service-keys="+dir)
	if err := cfg.OpenServiceKeys([]string{"records", "blobs"}, false); err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		mine := name == "records" || name == "blobs"
		if !cfg.serviceKeys.Knows(name) || cfg.serviceKeys.CanSign(name) != mine {
			t.Errorf("%s: knows %v, can sign %v; want known, signing %v", name, cfg.serviceKeys.Knows(name), cfg.serviceKeys.CanSign(name), mine)
		}
	}
}

func TestOpenServiceKeys_NamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	if err := authn.WriteServiceKeys(dir, Names()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "pix.pub")); err != nil {
		t.Fatal(err)
	}
	err := parsed(t, "-service-keys="+dir).OpenServiceKeys([]string{"payments"}, false)
	if err == nil || !strings.Contains(err.Error(), "missing pix.pub") {
		t.Errorf("without pix.pub: %v, want it named", err)
	}
	if err := os.Remove(filepath.Join(dir, "payments.key")); err != nil {
		t.Fatal(err)
	}
	err = parsed(t, "-service-keys="+dir).OpenServiceKeys([]string{"payments"}, false)
	if err == nil || !strings.Contains(err.Error(), "payments.key") {
		t.Errorf("without payments.key: %v, want it named", err)
	}
}
