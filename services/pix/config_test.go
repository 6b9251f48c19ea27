package pix

import (
	"context"
	"flag"
	"net"
	"strings"
	"testing"
	"time"

	"healthcore/platform/config"
	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
	"healthcore/services/pix/pixsandbox"
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

func TestConfig_DefaultIsTheSandboxOnLoopback(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Driver.Value != DriverSandbox || c.SandboxAddr != "127.0.0.1:7090" || c.BaseURL != ProductionBaseURL ||
		c.SignatureTolerance != 5*time.Minute || c.Timeout != DefaultTimeout {
		t.Errorf("defaults = %+v", c)
	}
	var zero Config
	var p config.Problems
	zero.Check(&p)
	if p.Err() != nil {
		t.Errorf("the zero Config has problems: %v", p.Err())
	}
}

func TestConfig_MercadoPagoFromFlagsAndEnvironment(t *testing.T) {
	c, err := parse(t, []string{"-pix.driver=mercadopago", "-pix.signature-tolerance=2m"}, map[string]string{
		"HEALTHCORE_PIX_ACCESS_TOKEN":     "APP_USR-123",
		"HEALTHCORE_PIX_WEBHOOK_SECRET":   "whsec",
		"HEALTHCORE_PIX_NOTIFICATION_URL": "https://api.example.com/webhooks/mercadopago",
		"HEALTHCORE_PIX_BASE_URL":         "https://mp-proxy.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Driver.Value != DriverMercadoPago || c.AccessToken != "APP_USR-123" || c.WebhookSecret != "whsec" ||
		c.SignatureTolerance != 2*time.Minute || c.BaseURL != "https://mp-proxy.example.com" {
		t.Fatalf("config = %+v", c)
	}
	d, sb, err := c.Open(context.Background(), nil, nil)
	if err != nil || sb != nil {
		t.Fatalf("Open = %T, %v, %v; want the Mercado Pago driver and no sandbox", d, sb, err)
	}
	if _, ok := d.(*MercadoPago); !ok {
		t.Errorf("Open returned %T, want *MercadoPago", d)
	}
}

func TestConfig_MercadoPagoNeedsCredentialsAndGoodURLs(t *testing.T) {
	_, err := parse(t, []string{"-pix.driver=mercadopago", "-pix.base-url=api.mercadopago.com", "-pix.notification-url=/webhooks",
		"-pix.signature-tolerance=1s", "-pix.timeout=0.5s"}, nil)
	if err == nil {
		t.Fatal("no problems reported")
	}
	for _, flagName := range []string{"pix.access-token", "pix.webhook-secret", "pix.base-url", "pix.notification-url", "pix.signature-tolerance", "pix.timeout"} {
		if !strings.Contains(err.Error(), flagName) {
			t.Errorf("problems %q do not name %s", err, flagName)
		}
	}
	if _, err := parse(t, nil, map[string]string{"HEALTHCORE_PIX_DRIVER": "stripe"}); err == nil || !strings.Contains(err.Error(), "sandbox, mercadopago") {
		t.Errorf("unknown driver: %v, want the choices named", err)
	}
}

func TestConfig_SandboxOpensOnItsAddressWithStoredCredentials(t *testing.T) {
	db := pgtest.Pool(t, pixsandbox.Schema.Name, pixsandbox.Schema)
	hooks := newReceiver(t, func(string, string, string) error { return nil })
	c, err := parse(t, []string{"-pix.sandbox-addr=127.0.0.1:0", "-pix.notification-url=" + hooks.url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, sb, err := c.Open(ctx, db, testkit.Logger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(sb.URL(), "http://"))
	if host != "127.0.0.1" {
		t.Errorf("sandbox listens on %s, want the configured 127.0.0.1", sb.URL())
	}
	if sb.NotificationURL() != hooks.url || asMP(d).notificationURL != hooks.url {
		t.Errorf("notification URL = %q (sandbox), %q (driver); want %s", sb.NotificationURL(), asMP(d).notificationURL, hooks.url)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sb.Run(runCtx) }()
	defer func() { stop(); <-done }()

	// The production driver runs against it; the credentials were generated and stored.
	e := &env{t: t, db: db, clock: testkit.NewClock(time.Now()), driver: asMP(d)}
	c1 := e.create(700, "config-open-1")
	if c1.Status != StatusPending {
		t.Fatalf("charge through the opened driver: %+v", c1)
	}
	token, secret, err := pixsandbox.Credentials(ctx, db, "", "")
	if err != nil || !strings.HasPrefix(token, "TEST-") || len(secret) != 64 || string(asMP(d).secret) != secret {
		t.Errorf("stored credentials %q / %q (%v); want a TEST- token and the driver's 32-byte hex secret", token, secret, err)
	}
	if again, _, _ := pixsandbox.Credentials(ctx, db, "", ""); again != token {
		t.Errorf("a second start got token %q, want the stored %q", again, token)
	}
	if _, _, err := c.Open(ctx, nil, nil); err == nil {
		t.Error("sandbox Open without a database succeeded")
	}
	hooks.waitFor(t, "the charge's payment.created", func(ns []notification) bool { return count(ns, c1.ID, "payment.created") == 1 })
}

func TestConfig_SandboxWebhooksDefaultToTheDevGateway(t *testing.T) {
	if got := DefaultConfig().notificationURL(); got != DefaultDevNotificationURL {
		t.Errorf("sandbox default notification URL = %q, want %s", got, DefaultDevNotificationURL)
	}
	c := DefaultConfig()
	c.Driver.Value = DriverMercadoPago
	if got := c.notificationURL(); got != "" {
		t.Errorf("mercadopago default notification URL = %q, want none (the application's setting at Mercado Pago)", got)
	}
}

func asMP(d Driver) *MercadoPago { return d.(*MercadoPago) }
