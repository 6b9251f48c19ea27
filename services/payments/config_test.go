package payments

import (
	"flag"
	"strings"
	"testing"
	"time"

	"healthcore/platform/config"
)

func TestConfig_FlagsAndChecks(t *testing.T) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-payments.reconcile-every=30s", "-payments.recheck-after=2m", "-payments.expiry-grace=5m"}); err != nil {
		t.Fatal(err)
	}
	if c.ReconcileEvery != 30*time.Second || c.RecheckAfter != 2*time.Minute || c.ExpiryGrace != 5*time.Minute {
		t.Fatalf("parsed %+v", c)
	}
	var ok config.Problems
	c.Check(&ok)
	if err := ok.Err(); err != nil {
		t.Fatalf("good settings refused: %v", err)
	}

	bad := Config{ReconcileEvery: 0, RecheckAfter: 48 * time.Hour, ExpiryGrace: -time.Second}
	var p config.Problems
	bad.Check(&p)
	err := p.Err()
	for _, flag := range []string{"payments.reconcile-every", "payments.recheck-after", "payments.expiry-grace"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("Check did not report %s: %v", flag, err)
		}
	}
	if _, err := New(Deps{}, DefaultConfig()); err == nil {
		t.Error("New without dependencies succeeded")
	}
}
