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
