package catalog

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"

	"healthcore/services/clinics"
	"healthcore/services/identity"
)

// serveConfig parses args as serve does and returns the production check's verdict on
// the services named.
func serveConfig(t *testing.T, names []string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := NewConfig(fs, false)
	cfg.RegisterServeFlags(fs)
	if err := cfg.Parse(fs, args); err != nil {
		return cfg, err
	}
	return cfg, cfg.CheckProduction(names)
}

func TestCheckProduction_RefusesEachDriverNobodyChoseNamingItsFlag(t *testing.T) {
	for name, want := range map[string]string{
		"pix":      "-pix.driver: production runs only a driver named explicitly: set -pix.driver=mercadopago (HEALTHCORE_PIX_DRIVER)",
		"keys":     "-keys.driver: production runs only a driver named explicitly: set -keys.driver=aws (HEALTHCORE_KEYS_DRIVER)",
		"blobs":    "-blobs.driver: production runs only a driver named explicitly: set -blobs.driver=s3 (HEALTHCORE_BLOBS_DRIVER)",
		"meetings": "-meetings.driver: production runs only a driver named explicitly: set -meetings.driver=chime (HEALTHCORE_MEETINGS_DRIVER)",
	} {
		_, err := serveConfig(t, []string{name}, "-trusted-proxies=none")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("serve %s: %v, want %q", name, err, want)
		}
	}
	// Every refusal at once, for the services this process runs only.
	_, err := serveConfig(t, []string{"pix", "identity", "blobs"})
	for _, want := range []string{"-pix.driver:", "-blobs.driver:", "-trusted-proxies (HEALTHCORE_TRUSTED_PROXIES) is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("serve pix identity blobs: %v, want %q", err, want)
		}
	}
	if err != nil && (strings.Contains(err.Error(), "-keys.driver") || strings.Contains(err.Error(), "-meetings.driver")) {
		t.Errorf("a service the process does not run was checked: %v", err)
	}
}

func TestCheckProduction_RefusesADevelopmentDriverUnlessAllowed(t *testing.T) {
	for _, args := range [][]string{{"-keys.driver=local"}, {"-pix.driver=sandbox"}, {"-blobs.driver=local"}, {"-meetings.driver=local"}} {
		name, _, _ := strings.Cut(strings.TrimPrefix(args[0], "-"), ".")
		_, err := serveConfig(t, []string{name}, append(args, "-trusted-proxies=none")...)
		want := args[0] + " is a development driver ("
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "-allow-dev-drivers") {
			t.Errorf("serve %s %s: %v, want %q naming -allow-dev-drivers", name, args[0], err, want)
		}
		if _, err := serveConfig(t, []string{name}, append(args, "-trusted-proxies=none", "-allow-dev-drivers")...); err != nil {
			t.Errorf("serve %s %s -allow-dev-drivers: %v", name, args[0], err)
		}
	}
}

func TestCheckProduction_AcceptsDriversNamedAndProxiesGiven(t *testing.T) {
	t.Setenv("HEALTHCORE_PIX_DRIVER", "mercadopago")
	t.Setenv("HEALTHCORE_PIX_ACCESS_TOKEN", "APP_USR-test")
	t.Setenv("HEALTHCORE_PIX_WEBHOOK_SECRET", "a webhook secret")
	for _, tc := range []struct {
		names []string
		args  []string
	}{
		{[]string{"pix"}, []string{"-trusted-proxies=10.0.0.0/8"}},              // the production driver, from the environment
		{[]string{"identity", "scheduling"}, []string{"-trusted-proxies=none"}}, // services without a driver
		{Names(), append(DevDriverFlags(), "-trusted-proxies=127.0.0.0/8,::1/128")},
	} {
		if _, err := serveConfig(t, tc.names, tc.args...); err != nil {
			t.Errorf("serve %v %v: %v", tc.names, tc.args, err)
		}
	}
}

func TestCheckProduction_DevDriverFlagsNameEveryDevelopmentDriver(t *testing.T) {
	got := DevDriverFlags()
	want := []string{"-allow-dev-drivers", "-keys.driver=local", "-pix.driver=sandbox", "-meetings.driver=local", "-blobs.driver=local",
		"-notifications.email-driver=sink", "-notifications.whatsapp-driver=sandbox"}
	if !slices.Equal(got, want) {
		t.Errorf("DevDriverFlags = %v, want %v", got, want)
	}
}

func TestConfig_TrustedProxies(t *testing.T) {
	for args, want := range map[string]string{
		"-trusted-proxies=none":                "[]",
		"-trusted-proxies=10.0.0.0/8,::1/128":  "[10.0.0.0/8 ::1/128]",
		"-trusted-proxies=":                    "-trusted-proxies: empty: give the proxies' CIDRs, or none to believe no peer",
		"-trusted-proxies=none,10.0.0.0/8":     `-trusted-proxies: "none" is not a CIDR`,
		"-trusted-proxies=10.0.0.0/8,nonsense": `-trusted-proxies: "nonsense" is not a CIDR`,
	} {
		cfg, err := serveConfig(t, nil, args)
		if err != nil {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q", args, err, want)
			}
			continue
		}
		got, _ := cfg.trustedProxies()
		if s := fmt.Sprint(got); s != want {
			t.Errorf("%s: trusted %s, want %s", args, s, want)
		}
	}
	// The gateway runs no driver: only the proxies are asked for.
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	gw := NewConfig(fs, false)
	if err := gw.Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if err := gw.CheckProduction(nil); err == nil || !strings.Contains(err.Error(), "-trusted-proxies (HEALTHCORE_TRUSTED_PROXIES) is required") ||
		strings.Contains(err.Error(), "driver") {
		t.Errorf("gateway without -trusted-proxies: %v", err)
	}
}

func TestConfig_DevKeepsItsDefaultsAndTakesNoProductionFlag(t *testing.T) {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dev := NewConfig(fs, true)
	if err := dev.Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := dev.trustedProxies(); fmt.Sprint(got) != "[127.0.0.0/8 ::1/128]" {
		t.Errorf("dev trusts %v, want loopback", got)
	}
	fs = flag.NewFlagSet("dev", flag.ContinueOnError)
	if err := NewConfig(fs, true).Parse(fs, []string{"-allow-dev-drivers"}); err == nil || !strings.Contains(err.Error(), "flag provided but not defined: -allow-dev-drivers") {
		t.Errorf("dev -allow-dev-drivers: %v", err)
	}
}

func TestCheckProduction_RS256ProfileNeedsAnHTTPSIssuer(t *testing.T) {
	for _, c := range []struct {
		args   []string
		refuse bool
	}{
		{[]string{"-identity.token-alg=RS256"}, true}, // issuer left at "healthcore"
		{[]string{"-identity.token-alg=RS256", "-identity.issuer=http://api.example.com"}, true},
		{[]string{"-identity.token-alg=RS256", "-identity.issuer=https://api.example.com/"}, true},
		{[]string{"-identity.token-alg=RS256", "-identity.issuer=https://api.example.com/auth"}, true},
		{[]string{"-identity.token-alg=RS256", "-identity.issuer=https://api.example.com"}, false},
		{[]string{"-identity.issuer=healthcore"}, false}, // EdDSA: no discovery, no constraint
	} {
		_, err := serveConfig(t, []string{"identity"}, append(c.args, "-trusted-proxies=none")...)
		refused := err != nil && strings.Contains(err.Error(), "-identity.issuer=") &&
			strings.Contains(err.Error(), "HEALTHCORE_IDENTITY_ISSUER") && strings.Contains(err.Error(), "https URL")
		if refused != c.refuse {
			t.Errorf("serve identity %v: %v; want refused=%v", c.args, err, c.refuse)
		}
	}
	// The gateway checks it too: it publishes the discovery document.
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfg := NewConfig(fs, false)
	if err := cfg.Parse(fs, []string{"-identity.token-alg=RS256", "-trusted-proxies=none"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckProduction(nil); err == nil || !strings.Contains(err.Error(), "-identity.issuer=") {
		t.Errorf("gateway with RS256 and the default issuer: %v", err)
	}
}

func TestParse_RefusesAnUnknownTokenAlgorithm(t *testing.T) {
	for _, alg := range []string{"none", "HS256", "ES256", "rs256"} {
		_, err := serveConfig(t, []string{"identity"}, "-identity.token-alg="+alg, "-trusted-proxies=none")
		if err == nil || !strings.Contains(err.Error(), "-identity.token-alg") || !strings.Contains(err.Error(), fmt.Sprintf("%q", alg)) {
			t.Errorf("-identity.token-alg=%s: %v", alg, err)
		}
	}
}

func TestCheckProduction_RefusesAPasswordHashWeakerThanOWASPUnlessAllowed(t *testing.T) {
	weak := []string{"-trusted-proxies=none", "-identity.argon2-memory-kib=1024", "-identity.argon2-iterations=1"}
	cfg, err := serveConfig(t, []string{"identity"}, weak...)
	want := "-identity.argon2-memory-kib=1024 with -identity.argon2-iterations=1 is weaker than OWASP's argon2id minimum"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("weak argon2: %v, want %q", err, want)
	}
	if got := ServiceConfig[identity.Config](cfg).Argon2; got.MemoryKiB != 1024 || got.Iterations != 1 {
		t.Errorf("flags did not reach identity's config: %+v", got)
	}
	if _, err := serveConfig(t, []string{"identity"}, append(weak, "-allow-dev-drivers")...); err != nil {
		t.Errorf("weak argon2 with -allow-dev-drivers: %v", err)
	}
	// OWASP's sets pass; a process that does not run identity does not check it.
	for _, args := range [][]string{{"-identity.argon2-memory-kib=19456", "-identity.argon2-iterations=2"}, {"-identity.argon2-memory-kib=7168", "-identity.argon2-iterations=5"}} {
		if _, err := serveConfig(t, []string{"identity"}, append(args, "-trusted-proxies=none")...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	if _, err := serveConfig(t, []string{"directory"}, weak...); err != nil {
		t.Errorf("serve directory with identity's weak flags: %v", err)
	}
	if _, err := serveConfig(t, []string{"identity"}, "-trusted-proxies=none", "-identity.argon2-iterations=x"); err == nil || !strings.Contains(err.Error(), "must be a whole number") {
		t.Errorf("-identity.argon2-iterations=x: %v", err)
	}
}

func TestCheckProduction_RefusesPartnerEventsToLoopbackUnlessAllowed(t *testing.T) {
	_, err := serveConfig(t, []string{"clinics"}, "-trusted-proxies=none", "-clinics.events-allow-loopback")
	if err == nil || !strings.Contains(err.Error(), "-clinics.events-allow-loopback") {
		t.Errorf("serve clinics with loopback events: %v", err)
	}
	cfg, err := serveConfig(t, []string{"clinics"}, "-trusted-proxies=none", "-clinics.events-allow-loopback", "-allow-dev-drivers")
	if err != nil || !ServiceConfig[clinics.Config](cfg).EventAllowLoopback {
		t.Errorf("with -allow-dev-drivers: %v", err)
	}
	if _, err := serveConfig(t, []string{"clinics"}, "-trusted-proxies=none"); err != nil {
		t.Errorf("serve clinics: %v", err)
	}
}
