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
