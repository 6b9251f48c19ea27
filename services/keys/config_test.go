package keys

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"healthcore/platform/config"
)

// parse registers a fresh Config's flags and parses args and env as the binary does.
func parse(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("healthcore", flag.ContinueOnError)
	c.RegisterFlags(fs)
	var p config.Problems
	if err := config.Parse(fs, args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &p); err != nil {
		return c, err
	}
	return c, p.Err()
}

func TestConfig_DefaultIsTheLocalDriverInTheDataFolder(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var p config.Problems
	c.Check(&p)
	if c.Driver.Value != DriverLocal || p.Err() != nil {
		t.Fatalf("driver = %q, problems %v; want local and none", c.Driver.Value, p.Err())
	}
	dataDir := t.TempDir()
	d, err := c.Open(context.Background(), dataDir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, ok := d.(*Local); !ok {
		t.Errorf("Open returned %T, want *Local", d)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "keys", KeyringFile)); err != nil {
		t.Errorf("keyring not in the data folder's keys folder: %v", err)
	}
}

func TestConfig_AWSDriverIsSetByFlagsAndEnvironmentAndOpens(t *testing.T) {
	useTestCredentials(t)
	endpoint := startKMS(t)
	c, err := parse(t, []string{"-keys.driver=aws", "-keys.aws-region=" + testRegion}, map[string]string{
		"HEALTHCORE_KEYS_AWS_KEY_ID":   "alias/healthcore",
		"HEALTHCORE_KEYS_AWS_ENDPOINT": endpoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := AWSConfig{KeyID: "alias/healthcore", Region: testRegion, Endpoint: endpoint}
	if c.Driver.Value != DriverAWS || c.AWS != want {
		t.Fatalf("config = %q %+v, want aws %+v", c.Driver.Value, c.AWS, want)
	}
	var p config.Problems
	c.Check(&p)
	if p.Err() != nil {
		t.Fatalf("Check: %v", p.Err())
	}
	d, err := c.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	a, ok := d.(*AWS)
	if !ok || a.keyID != "alias/healthcore" {
		t.Fatalf("Open returned %T %+v, want *AWS for alias/healthcore", d, d)
	}
	// The endpoint is used: the alias does not exist on this server yet.
	if _, _, err := a.Encrypt(context.Background(), "", []byte("x"), nil); err == nil || !strings.Contains(err.Error(), "NotFoundException") {
		t.Errorf("Encrypt = %v, want local-kms's NotFoundException for the missing alias", err)
	}
}

func TestConfig_AWSDriverNeedsKeyAndRegionAndAGoodEndpoint(t *testing.T) {
	c, err := parse(t, []string{"-keys.driver=aws", "-keys.aws-endpoint=kms.internal"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var p config.Problems
	c.Check(&p)
	if len(p) != 3 {
		t.Fatalf("problems = %q, want 3", p)
	}
	for i, flagName := range []string{"keys.aws-key-id", "keys.aws-region", "keys.aws-endpoint"} {
		if !strings.HasPrefix(p[i], flagName) {
			t.Errorf("problem %d = %q, want it to name %s", i, p[i], flagName)
		}
	}
}

func TestConfig_UnknownDriverIsRefused(t *testing.T) {
	_, err := parse(t, nil, map[string]string{"HEALTHCORE_KEYS_DRIVER": "vault"})
	if err == nil || !strings.Contains(err.Error(), "HEALTHCORE_KEYS_DRIVER") || !strings.Contains(err.Error(), "local, aws") {
		t.Errorf("error = %v, want one naming the variable and the choices", err)
	}
	c := Config{Driver: config.Choice{Value: "vault"}}
	var p config.Problems
	c.Check(&p)
	if len(p) != 1 || !strings.Contains(p[0], "keys.driver") {
		t.Errorf("Check of a hand-built config = %q, want a keys.driver problem", p)
	}
	if _, err := c.Open(context.Background(), t.TempDir()); err == nil {
		t.Error("Open of an unknown driver succeeded")
	}
}
