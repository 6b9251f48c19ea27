package pix

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/config"
	"healthcore/services/pix/pixsandbox"
)

// Driver names accepted by the pix.driver flag.
const (
	DriverSandbox     = "sandbox"
	DriverMercadoPago = "mercadopago"
)

// DefaultSandboxAddr is where the sandbox listens unless told otherwise: loopback only.
const DefaultSandboxAddr = "127.0.0.1:7090"

// DefaultDevNotificationURL is where the sandbox sends webhooks when pix.notification-url
// is not set: the gateway of a development stack.
const DefaultDevNotificationURL = "http://127.0.0.1:8080/webhooks/mercadopago"

// Config chooses and configures the driver. The zero value, like DefaultConfig, is the
// sandbox.
type Config struct {
	Driver config.Choice
	// AccessToken is Mercado Pago's access token; in production set it through the
	// environment (HEALTHCORE_PIX_ACCESS_TOKEN), never on the command line.
	AccessToken string
	// WebhookSecret is the application's webhook signature secret (same advice).
	WebhookSecret      string
	BaseURL            string
	NotificationURL    string
	SignatureTolerance time.Duration
	Timeout            time.Duration
	SandboxAddr        string
	// Transport carries the requests to Mercado Pago (nil: a transport of its own); the
	// catalog sets one that records a span per call when tracing is on. Not a flag.
	Transport http.RoundTripper
}

// DefaultConfig is the development setting: the sandbox on loopback.
func DefaultConfig() Config {
	return Config{
		Driver:             config.Choice{Value: DriverSandbox, Allowed: []string{DriverSandbox, DriverMercadoPago}},
		BaseURL:            ProductionBaseURL,
		SignatureTolerance: DefaultSignatureTolerance,
		Timeout:            DefaultTimeout,
		SandboxAddr:        DefaultSandboxAddr,
	}
}

// RegisterFlags binds the settings to flags named pix.*; unset fields take
// DefaultConfig's values.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	if c.Driver.Allowed == nil {
		c.Driver.Allowed = DefaultConfig().Driver.Allowed
	}
	if c.Driver.Value == "" {
		c.Driver.Value = DriverSandbox
	}
	*c = c.withDefaults()
	fs.Var(&c.Driver, "pix.driver", "PIX provider: sandbox (a local server speaking Mercado Pago's API) or mercadopago")
	fs.StringVar(&c.AccessToken, "pix.access-token", c.AccessToken,
		"Mercado Pago access token; set it with HEALTHCORE_PIX_ACCESS_TOKEN, not on the command line (sandbox: generated when empty)")
	fs.StringVar(&c.WebhookSecret, "pix.webhook-secret", c.WebhookSecret,
		"secret that signs Mercado Pago's webhooks; set it with HEALTHCORE_PIX_WEBHOOK_SECRET (sandbox: generated when empty)")
	fs.StringVar(&c.BaseURL, "pix.base-url", c.BaseURL, "Mercado Pago API base URL (pix.driver=mercadopago; with the sandbox, left at its default, the sandbox's own, else a proxy in front of the sandbox)")
	fs.StringVar(&c.NotificationURL, "pix.notification-url", c.NotificationURL,
		"where the provider posts webhooks: the gateway's /webhooks/mercadopago (sandbox default "+DefaultDevNotificationURL+")")
	fs.DurationVar(&c.SignatureTolerance, "pix.signature-tolerance", c.SignatureTolerance, "how far from now a webhook's signature time may be")
	fs.DurationVar(&c.Timeout, "pix.timeout", c.Timeout, "time limit of one call to the provider")
	fs.StringVar(&c.SandboxAddr, "pix.sandbox-addr", c.SandboxAddr, "listen address of the sandbox server (pix.driver=sandbox)")
}

func orDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// Check reports bad settings. Empty or zero fields take DefaultConfig's values.
func (c Config) Check(p *config.Problems) {
	c = c.withDefaults()
	p.Check(c.SignatureTolerance >= 10*time.Second && c.SignatureTolerance <= time.Hour,
		"pix.signature-tolerance=%s: must be between 10s and 1h", c.SignatureTolerance)
	p.Check(c.Timeout >= time.Second && c.Timeout <= 2*time.Minute, "pix.timeout=%s: must be between 1s and 2m", c.Timeout)
	if c.NotificationURL != "" {
		u, err := url.Parse(c.NotificationURL)
		p.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "",
			"pix.notification-url=%q: must be an absolute http(s) URL, e.g. https://api.example.com/webhooks/mercadopago", c.NotificationURL)
	}
	switch c.driver() {
	case DriverSandbox:
		_, _, err := net.SplitHostPort(c.SandboxAddr)
		p.Check(err == nil, "pix.sandbox-addr=%q: must be host:port, e.g. %s", c.SandboxAddr, DefaultSandboxAddr)
	case DriverMercadoPago:
		p.Check(c.AccessToken != "", "pix.access-token: required when pix.driver=mercadopago (set HEALTHCORE_PIX_ACCESS_TOKEN)")
		p.Check(c.WebhookSecret != "", "pix.webhook-secret: required when pix.driver=mercadopago (set HEALTHCORE_PIX_WEBHOOK_SECRET)")
		if c.BaseURL != "" {
			_, err := parseBaseURL(c.BaseURL)
			p.Check(err == nil, "pix.base-url=%q: %v", c.BaseURL, err)
		}
	default:
		p.Addf("pix.driver=%q: must be %s or %s", c.Driver.Value, DriverSandbox, DriverMercadoPago)
	}
}

// Open returns the configured driver. For the sandbox it also starts listening on
// pix.sandbox-addr and returns the sandbox, whose Run the caller must run beside the
// service (it serves the API and sends webhooks), with the production driver pointed
// at it; sandboxDB is then a pool on pixsandbox.Schema, migrated. For mercadopago,
// sandboxDB may be nil and no sandbox is returned.
func (c Config) Open(ctx context.Context, sandboxDB *pgxpool.Pool, log *slog.Logger) (Driver, *pixsandbox.Sandbox, error) {
	c = c.withDefaults()
	mp := MercadoPagoConfig{
		AccessToken: c.AccessToken, WebhookSecret: c.WebhookSecret, BaseURL: c.BaseURL,
		NotificationURL: c.NotificationURL, SignatureTolerance: c.SignatureTolerance, Timeout: c.Timeout,
		Transport: c.Transport,
	}
	switch c.driver() {
	case DriverMercadoPago:
		d, err := NewMercadoPago(mp)
		return d, nil, err
	case DriverSandbox:
		if sandboxDB == nil {
			return nil, nil, errors.New("pix: the sandbox driver needs a database pool on schema " + pixsandbox.Schema.Name)
		}
		var err error
		if mp.AccessToken, mp.WebhookSecret, err = pixsandbox.Credentials(ctx, sandboxDB, c.AccessToken, c.WebhookSecret); err != nil {
			return nil, nil, err
		}
		mp.NotificationURL = c.notificationURL()
		ln, err := net.Listen("tcp", c.SandboxAddr)
		if err != nil {
			return nil, nil, fmt.Errorf("pix: sandbox: %w", err)
		}
		sb, err := pixsandbox.New(sandboxDB, ln, pixsandbox.Options{
			AccessToken: mp.AccessToken, WebhookSecret: mp.WebhookSecret, NotificationURL: mp.NotificationURL, Logger: log,
		})
		if err != nil {
			ln.Close()
			return nil, nil, err
		}
		// The production driver, pointed at the sandbox: development runs the real path.
		// A base URL other than Mercado Pago's is a proxy in front of the sandbox (the HA
		// tests cut it to make the provider unreachable).
		if c.BaseURL == ProductionBaseURL {
			mp.BaseURL = sb.URL()
		}
		d, err := NewMercadoPago(mp)
		if err != nil {
			ln.Close()
			return nil, nil, err
		}
		return d, sb, nil
	}
	return nil, nil, fmt.Errorf("pix: unknown driver %q", c.Driver.Value)
}

// notificationURL is where webhooks go: the configured URL, else for the sandbox the
// development gateway's.
func (c Config) notificationURL() string {
	if c.NotificationURL == "" && c.driver() == DriverSandbox {
		return DefaultDevNotificationURL
	}
	return c.NotificationURL
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	orDefault(&c.BaseURL, d.BaseURL)
	orDefault(&c.SandboxAddr, d.SandboxAddr)
	if c.SignatureTolerance == 0 {
		c.SignatureTolerance = d.SignatureTolerance
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	return c
}

// ProductionDriver describes the driver choice for production's check: serve refuses a
// driver left at its default, and a development one without -allow-dev-drivers.
func (c Config) ProductionDriver() config.Driver {
	return config.Driver{Flag: "pix.driver", Choice: c.Driver, Dev: c.driver() == DriverSandbox, Production: DriverMercadoPago,
		Why: "its approve endpoint pays any charge without authentication"}
}

func (c Config) driver() string {
	if c.Driver.Value == "" {
		return DriverSandbox
	}
	return c.Driver.Value
}
