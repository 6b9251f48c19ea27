package catalog

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"healthcore/services/identity"
	"healthcore/services/pix"
)

func TestConfig_ReportsEveryBadValueAtOnce(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := NewConfig(fs, false)
	t.Setenv("HEALTHCORE_KEYS_DRIVER", "gcp")
	t.Setenv("HEALTHCORE_LOG_LEVEL", "loud")
	err := cfg.Parse(fs, []string{"-identity.access-ttl=2h", "-trusted-proxies=10.0.0.0/8,nonsense", "-db-max-conns=1"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		"HEALTHCORE_KEYS_DRIVER", "-log-level=\"loud\"", "identity.access-ttl=2h0m0s: must be between 1m and 1h",
		`"nonsense" is not a CIDR`, "-db-max-conns=1: must be 2 to 200",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestConfig_ServiceAddressesComeFromTheCatalog(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := NewConfig(fs, true)
	t.Setenv("HEALTHCORE_IDENTITY_URL", "http://identity.healthcore.svc:7002")
	if err := cfg.Parse(fs, []string{"-keys.addr=127.0.0.1:9001"}); err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr("keys") != "127.0.0.1:9001" || cfg.ListenAddr("identity") != "127.0.0.1:7002" {
		t.Errorf("addrs keys=%s identity=%s", cfg.ListenAddr("keys"), cfg.ListenAddr("identity"))
	}
	if *cfg.URL["identity"] != "http://identity.healthcore.svc:7002" || *cfg.URL["keys"] != "http://127.0.0.1:7001" {
		t.Errorf("urls identity=%s keys=%s", *cfg.URL["identity"], *cfg.URL["keys"])
	}
}

func TestConfig_EveryServiceHasAddressURLAndItsOwnConfig(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := NewConfig(fs, false)
	if err := cfg.Parse(fs, []string{"-identity.access-ttl=20m", "-pix.sandbox-addr=127.0.0.1:9911"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range Services() {
		if got, want := cfg.ListenAddr(s.Name), fmt.Sprintf("0.0.0.0:%d", s.Port); got != want {
			t.Errorf("-%s.addr = %s, want %s", s.Name, got, want)
		}
		if fs.Lookup(s.Name+".url") == nil {
			t.Errorf("no -%s.url flag", s.Name)
		}
	}
	if got := ServiceConfig[identity.Config](cfg).AccessTTL.String(); got != "20m0s" {
		t.Errorf("identity's Config has access TTL %s, want the flag's 20m", got)
	}
	if got := ServiceConfig[pix.Config](cfg).SandboxAddr; got != "127.0.0.1:9911" {
		t.Errorf("pix's Config has sandbox address %q, want the flag's", got)
	}
}

func TestServices_StartAfterWhatTheyCallWhileStarting(t *testing.T) {
	names := Names()
	if len(names) != len(Services()) {
		t.Fatalf("%d names for %d services", len(names), len(Services()))
	}
	at := map[string]int{}
	for i, name := range names {
		if _, dup := at[name]; dup {
			t.Fatalf("%s is in the catalog twice", name)
		}
		at[name] = i
	}
	// What services call while they start: identity opens its sealed secrets through
	// keys; records calls keys, blobs and directory; payments calls identity and pix.
	for service, before := range map[string][]string{
		"identity": {"keys"}, "records": {"keys", "blobs", "directory"}, "payments": {"identity", "pix"},
	} {
		for _, b := range before {
			if at[b] >= at[service] {
				t.Errorf("%s starts at %d, before %s (%d) which it needs", service, at[service], b, at[b])
			}
		}
	}
	if !Has("records") || Has("payroll") {
		t.Error("Has does not follow the catalog")
	}
	var schemas []string
	for _, s := range Schemas([]string{"telehealth", "keys", "identity", "blobs"}) {
		schemas = append(schemas, s.Name)
	}
	if got := strings.Join(schemas, ","); got != "identity,telehealth" {
		t.Errorf("Schemas = %s, want the named services' that own data, in start order", got)
	}
}
