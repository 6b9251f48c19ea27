package telehealth

import (
	"flag"
	"strings"
	"testing"
	"time"

	"healthcore/platform/config"
)

func TestConfig_JoinEarlyFlagAndBounds(t *testing.T) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-telehealth.join-early=15m", "-telehealth.jobs-workers=4"}); err != nil {
		t.Fatal(err)
	}
	if c.JoinEarly != 15*time.Minute || c.Jobs.MaxWorkers != 4 {
		t.Fatalf("parsed %+v", c)
	}
	var ok config.Problems
	c.Check(&ok)
	if err := ok.Err(); err != nil {
		t.Fatalf("good settings refused: %v", err)
	}
	for _, early := range []time.Duration{-time.Minute, 61 * time.Minute} {
		var p config.Problems
		Config{JoinEarly: early}.Check(&p)
		if err := p.Err(); err == nil || !strings.Contains(err.Error(), "telehealth.join-early") {
			t.Errorf("join-early %s: %v", early, err)
		}
	}
	if _, err := New(Deps{}, DefaultConfig()); err == nil {
		t.Error("New without dependencies succeeded")
	}
}
