package main

import (
	"context"
	"flag"
	"strings"
	"testing"
)

func TestRun_UnknownCommandAndServiceAreNamed(t *testing.T) {
	for args, want := range map[string]string{
		"launch":                                `unknown command "launch"`,
		"serve payroll":                         `unknown service "payroll" (services: keys, identity, directory, scheduling, pix, payments, meetings, blobs, records, telehealth)`,
		"serve":                                 "name the services to serve",
		"serve identity":                        "-service-token (HEALTHCORE_SERVICE_TOKEN) is required",
		"migrate -x=1":                          "flag provided but not defined: -x",
		"gateway -h":                            "flag: help requested",
		"keys-rotate -gateway.max-body-bytes=5": "-gateway.max-body-bytes=5: must be at least 1024",
	} {
		t.Run(args, func(t *testing.T) {
			t.Setenv("HEALTHCORE_SERVICE_TOKEN", "")
			err := run(context.Background(), strings.Fields(args))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("run(%q) = %v, want an error containing %q", args, err, want)
			}
		})
	}
}

func TestConfig_ReportsEveryBadValueAtOnce(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := newConfig(fs, false)
	t.Setenv("HEALTHCORE_KEYS_DRIVER", "gcp")
	t.Setenv("HEALTHCORE_LOG_LEVEL", "loud")
	err := cfg.parse(fs, []string{"-identity.access-ttl=2h", "-trusted-proxies=10.0.0.0/8,nonsense", "-service-token=short"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		"HEALTHCORE_KEYS_DRIVER", "-log-level=\"loud\"", "identity.access-ttl=2h0m0s: must be between 1m and 1h",
		`"nonsense" is not a CIDR`, "-service-token: must be at least 32 characters",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestConfig_ServiceAddressesComeFromTheCatalog(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := newConfig(fs, true)
	t.Setenv("HEALTHCORE_IDENTITY_URL", "http://identity.healthcore.svc:7002")
	if err := cfg.parse(fs, []string{"-keys.addr=127.0.0.1:9001"}); err != nil {
		t.Fatal(err)
	}
	if *cfg.Addr["keys"] != "127.0.0.1:9001" || *cfg.Addr["identity"] != "127.0.0.1:7002" {
		t.Errorf("addrs keys=%s identity=%s", *cfg.Addr["keys"], *cfg.Addr["identity"])
	}
	if *cfg.URL["identity"] != "http://identity.healthcore.svc:7002" || *cfg.URL["keys"] != "http://127.0.0.1:7001" {
		t.Errorf("urls identity=%s keys=%s", *cfg.URL["identity"], *cfg.URL["keys"])
	}
	if got := hostPort("0.0.0.0:8080"); got != "127.0.0.1:8080" {
		t.Errorf("hostPort = %s", got)
	}
}
