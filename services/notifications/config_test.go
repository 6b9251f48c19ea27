package notifications

import (
	"flag"
	"strings"
	"testing"

	"healthcore/platform/config"
)

func parseConfig(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	c := DefaultConfig()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var p config.Problems
	c.Check(&p)
	return c, p.Err()
}

func TestConfig_DriversAndTheirRequiredSettings(t *testing.T) {
	if c, err := parseConfig(t); err != nil || c.Email.Value != EmailSink || c.WhatsApp.Value != WhatsAppSandbox {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		want string // "" = accepted
	}{
		{[]string{"-notifications.email-driver=smtp"}, "notifications.smtp-host: required"},
		{[]string{"-notifications.email-driver=smtp", "-notifications.smtp-host=smtp.example.com", "-notifications.smtp-username=u"}, "notifications.smtp-password: required"},
		{[]string{"-notifications.email-driver=smtp", "-notifications.smtp-host=smtp.example.com"}, ""},
		{[]string{"-notifications.email-driver=ses", "-notifications.ses-region=sa-east-1"}, "notifications.ses-configuration-set: required"},
		{[]string{"-notifications.email-driver=ses", "-notifications.ses-region=sa-east-1", "-notifications.ses-configuration-set=bounces"}, ""},
		{[]string{"-notifications.whatsapp-driver=cloudapi"}, "notifications.whatsapp-phone-number-id: required"},
		{[]string{"-notifications.whatsapp-driver=off"}, ""},
		{[]string{"-notifications.app-base-url=https://app.example.com/path"}, "notifications.app-base-url"},
		{[]string{"-notifications.email-from=not an address"}, "notifications.email-from"},
		{[]string{"-notifications.timeout=0s"}, "notifications.timeout"},
	} {
		_, err := parseConfig(t, tc.args...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: refused: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestConfig_ProductionRefusesDevChannelsAndUnnamedOnes(t *testing.T) {
	check := func(allowDev bool, args ...string) string {
		c, err := parseConfig(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		var p config.Problems
		for _, d := range c.ProductionDrivers() {
			config.CheckProduction(&p, d, allowDev)
		}
		if err := p.Err(); err != nil {
			return err.Error()
		}
		return ""
	}
	if got := check(false); !strings.Contains(got, "-notifications.email-driver: production runs only a driver named explicitly") ||
		!strings.Contains(got, "-notifications.whatsapp-driver: production runs only a driver named explicitly") {
		t.Errorf("unnamed: %q", got)
	}
	if got := check(false, "-notifications.email-driver=sink", "-notifications.whatsapp-driver=sandbox"); !strings.Contains(got, "development driver") {
		t.Errorf("dev drivers: %q", got)
	}
	if got := check(true, "-notifications.email-driver=sink", "-notifications.whatsapp-driver=sandbox"); got != "" {
		t.Errorf("dev drivers allowed: %q", got)
	}
	if got := check(false, "-notifications.email-driver=smtp", "-notifications.smtp-host=smtp.example.com", "-notifications.whatsapp-driver=off"); got != "" {
		t.Errorf("production drivers: %q", got)
	}
}
