package meetings

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

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
	c.Check(&p)
	return c, p.Err()
}

func TestConfig_DefaultIsTheLocalDriverOnJitsi(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Driver.Value != DriverLocal || c.Region != "us-east-1" || c.MediaRegion != "sa-east-1" ||
		c.Timeout != DefaultTimeout || c.LocalBaseURL != DefaultLocalBaseURL || c.Endpoint != "" {
		t.Errorf("defaults = %+v", c)
	}
	d, err := c.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := d.(*Local); !ok || l.base.String() != DefaultLocalBaseURL {
		t.Errorf("Open = %T, want the local driver on %s", d, DefaultLocalBaseURL)
	}
	var zero Config
	var p config.Problems
	zero.Check(&p)
	if p.Err() != nil {
		t.Errorf("the zero Config has problems: %v", p.Err())
	}
}

func TestConfig_ChimeFromFlagsAndEnvironment(t *testing.T) {
	c, err := parse(t, []string{"-meetings.driver=chime", "-meetings.timeout=5s"}, map[string]string{
		"HEALTHCORE_MEETINGS_REGION":       "us-west-2",
		"HEALTHCORE_MEETINGS_ENDPOINT":     "https://vpce-0abc.meetings-chime.us-west-2.vpce.amazonaws.com",
		"HEALTHCORE_MEETINGS_MEDIA_REGION": "us-east-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Driver.Value != DriverChime || c.Region != "us-west-2" || c.MediaRegion != "us-east-1" || c.Timeout != 5*time.Second {
		t.Fatalf("config = %+v", c)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDCONFIGTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	d, err := c.Open(context.Background())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ch, ok := d.(*Chime)
	if !ok || ch.region != "us-west-2" || ch.base.String() != "https://vpce-0abc.meetings-chime.us-west-2.vpce.amazonaws.com" ||
		ch.timeout != 5*time.Second || ch.attempts != DefaultMaxAttempts {
		t.Errorf("Open = %+v, want the chime driver as configured", d)
	}
}

func TestConfig_ReportsEveryProblem(t *testing.T) {
	_, err := parse(t, []string{"-meetings.driver=chime", "-meetings.region=Virginia", "-meetings.endpoint=meetings-chime.example",
		"-meetings.media-region=brazil", "-meetings.timeout=10ms"}, nil)
	if err == nil {
		t.Fatal("no problems reported")
	}
	for _, name := range []string{"meetings.region", "meetings.endpoint", "meetings.media-region", "meetings.timeout"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("problems %q do not name %s", err, name)
		}
	}
	_, err = parse(t, []string{"-meetings.local-base-url=meet.jit.si"}, nil)
	if err == nil || !strings.Contains(err.Error(), "meetings.local-base-url") {
		t.Errorf("a base URL without scheme: %v", err)
	}
	if _, err := parse(t, nil, map[string]string{"HEALTHCORE_MEETINGS_DRIVER": "zoom"}); err == nil || !strings.Contains(err.Error(), "local, chime") {
		t.Errorf("unknown driver: %v, want the choices named", err)
	}
}
