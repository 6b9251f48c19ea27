package identity

import (
	"flag"
	"strings"
	"testing"
	"time"

	"healthcore/platform/config"
)

func TestConfig_FlagsIncludeTheJobRunnerAndAreChecked(t *testing.T) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-identity.key-rotation=48h", "-identity.jobs-workers=2", "-identity.jobs-timeout=30s"}); err != nil {
		t.Fatal(err)
	}
	if c.KeyRotation != 48*time.Hour || c.Jobs.MaxWorkers != 2 || c.Jobs.JobTimeout != 30*time.Second {
		t.Fatalf("parsed %+v", c)
	}
	var ok config.Problems
	c.Check(&ok)
	if err := ok.Err(); err != nil {
		t.Fatalf("good settings refused: %v", err)
	}

	c.KeyRotation = c.AccessTTL
	c.Jobs.RescueAfter = c.Jobs.JobTimeout
	var bad config.Problems
	c.Check(&bad)
	err := bad.Err()
	for _, flag := range []string{"identity.key-rotation", "identity.jobs-rescue-after"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("bad %s not reported: %v", flag, err)
		}
	}
}

func TestConfig_ThrottleAndRegistrationLimitFlags(t *testing.T) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-identity.throttle-account-global-free=80", "-identity.throttle-account-global-max-delay=2m",
		"-identity.throttle-known-client-for=720h", "-identity.register-per-address=500", "-identity.register-window=10m"}); err != nil {
		t.Fatal(err)
	}
	if c.Throttle.AccountGlobalFree != 80 || c.Throttle.AccountGlobalMaxDelay != 2*time.Minute || c.Throttle.KnownClientFor != 720*time.Hour ||
		c.Register != (RegisterLimit{PerAddress: 500, Window: 10 * time.Minute}) {
		t.Fatalf("parsed %+v %+v", c.Throttle, c.Register)
	}
	var ok config.Problems
	c.Check(&ok)
	if err := ok.Err(); err != nil {
		t.Fatalf("good settings refused: %v", err)
	}

	c.Throttle.AccountGlobalFree = c.Throttle.AccountFree - 1
	c.Throttle.AccountGlobalMaxDelay = 2 * c.Throttle.Lockout
	c.Register.PerAddress = 0
	var bad config.Problems
	c.Check(&bad)
	err := bad.Err()
	for _, flag := range []string{"identity.throttle-account-global-free", "identity.throttle-account-global-max-delay", "identity.register-per-address"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("bad %s not reported: %v", flag, err)
		}
	}
}
