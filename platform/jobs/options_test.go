package jobs

import (
	"flag"
	"strings"
	"testing"
	"time"

	"healthcore/platform/config"
)

// The fetch cooldown is an operator's flag: 20 ms unless set, at least 1 ms.
func TestOptions_FetchCooldownFlag(t *testing.T) {
	parse := func(args ...string) Options {
		t.Helper()
		var o Options
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		o.RegisterFlags(fs, "svc")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if got := parse().withDefaults().FetchCooldown; got != 20*time.Millisecond {
		t.Errorf("default fetch cooldown %s, want 20ms", got)
	}
	o := parse("-svc.jobs-fetch-cooldown=100ms")
	if got := o.withDefaults().FetchCooldown; got != 100*time.Millisecond {
		t.Errorf("fetch cooldown %s, want 100ms", got)
	}
	var ok config.Problems
	o.Check(&ok, "svc")
	if err := ok.Err(); err != nil {
		t.Errorf("100ms refused: %v", err)
	}
	var p config.Problems
	parse("-svc.jobs-fetch-cooldown=500us").Check(&p, "svc")
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "svc.jobs-fetch-cooldown=500µs: must be at least 1ms") {
		t.Errorf("500µs: %v, want refused", err)
	}
}
