package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParse_FlagBeatsEnvAndEnvFillsTheRest(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	ttl := fs.Duration("identity.access-ttl", time.Minute, "")
	addr := fs.String("identity.addr", ":7001", "")
	db := fs.String("database-url", "", "")
	var p Problems
	err := Parse(fs, []string{"-identity.addr=:9000"}, env(map[string]string{
		"HEALTHCORE_IDENTITY_ACCESS_TTL": "15m",
		"HEALTHCORE_IDENTITY_ADDR":       ":1",
		"DATABASE_URL":                   "postgres://x/y",
	}), &p)
	if err != nil || p.Err() != nil {
		t.Fatal(err)
	}
	if *ttl != 15*time.Minute || *addr != ":9000" || *db != "postgres://x/y" {
		t.Errorf("ttl=%v addr=%q db=%q", *ttl, *addr, *db)
	}
}

func TestParse_ReportsEveryBadValueByName(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Duration("a-ttl", time.Minute, "")
	fs.Int("b.count", 1, "")
	driver := &Choice{Value: "local", Allowed: []string{"local", "aws"}}
	fs.Var(driver, "keys.driver", "")
	var p Problems
	if err := Parse(fs, nil, env(map[string]string{
		"HEALTHCORE_A_TTL": "soon", "HEALTHCORE_B_COUNT": "many", "HEALTHCORE_KEYS_DRIVER": "gcp",
	}), &p); err != nil {
		t.Fatalf("environment problems must not stop parsing: %v", err)
	}
	err := p.Err()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"HEALTHCORE_A_TTL", "HEALTHCORE_B_COUNT", "HEALTHCORE_KEYS_DRIVER", "must be one of local, aws"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if driver.Value != "local" {
		t.Errorf("bad value was applied: %q", driver.Value)
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("identity.access-ttl"); got != "HEALTHCORE_IDENTITY_ACCESS_TTL" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestCheckProduction_RefusesADefaultOrADevelopmentDriver(t *testing.T) {
	choice := func(args []string, vars map[string]string) Choice {
		c := Choice{Value: "sandbox", Allowed: []string{"sandbox", "mercadopago"}}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.Var(&c, "pix.driver", "")
		var p Problems
		if err := Parse(fs, args, env(vars), &p); err != nil || p.Err() != nil {
			t.Fatal(err, p.Err())
		}
		return c
	}
	driver := func(c Choice) Driver {
		return Driver{Flag: "pix.driver", Choice: c, Dev: c.Value == "sandbox", Production: "mercadopago", Why: "no authentication"}
	}
	tests := []struct {
		name     string
		choice   Choice
		allowDev bool
		want     string // "" for no problem
	}{
		{"left at its default", choice(nil, nil), true, "-pix.driver: production runs only a driver named explicitly: set -pix.driver=mercadopago (HEALTHCORE_PIX_DRIVER)"},
		{"development driver named", choice([]string{"-pix.driver=sandbox"}, nil), false, "-pix.driver=sandbox is a development driver (no authentication): set -pix.driver=mercadopago, or add -allow-dev-drivers to run it outside dev on purpose"},
		{"development driver named and allowed", choice([]string{"-pix.driver=sandbox"}, nil), true, ""},
		{"production driver on the command line", choice([]string{"-pix.driver=mercadopago"}, nil), false, ""},
		{"production driver in the environment", choice(nil, map[string]string{"HEALTHCORE_PIX_DRIVER": "mercadopago"}), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Problems
			CheckProduction(&p, driver(tt.choice), tt.allowDev)
			got := strings.Join(p, "; ")
			if got != tt.want {
				t.Fatalf("problems %q, want %q", got, tt.want)
			}
		})
	}
}
