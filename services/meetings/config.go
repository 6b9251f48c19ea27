package meetings

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"healthcore/platform/config"
)

// Driver names accepted by the meetings.driver flag.
const (
	DriverLocal = "local"
	DriverChime = "chime"
)

// regionPattern is the shape of an AWS region name, e.g. sa-east-1.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)

// Config chooses and configures the driver. The zero value, like DefaultConfig, is the
// local driver.
type Config struct {
	Driver config.Choice
	// Region is the Chime control region (API endpoint), e.g. us-east-1.
	Region string
	// Endpoint replaces the control region's endpoint (VPC endpoint); "" for the default.
	Endpoint string
	// MediaRegion hosts meetings whose request names no region, e.g. sa-east-1.
	MediaRegion string
	// Timeout bounds one HTTP attempt to Chime.
	Timeout time.Duration
	// LocalBaseURL is the Jitsi Meet deployment of the local driver.
	LocalBaseURL string
	// Transport carries the requests to Chime (nil: a transport of its own); the catalog
	// sets one that records a span per call when tracing is on. Not a flag.
	Transport http.RoundTripper
}

// DefaultConfig is the development setting: the local driver on meet.jit.si.
func DefaultConfig() Config {
	return Config{
		Driver:       config.Choice{Value: DriverLocal, Allowed: []string{DriverLocal, DriverChime}},
		Region:       DefaultRegion,
		MediaRegion:  DefaultMediaRegion,
		Timeout:      DefaultTimeout,
		LocalBaseURL: DefaultLocalBaseURL,
	}
}

// RegisterFlags binds the settings to flags named meetings.*; unset fields take
// DefaultConfig's values.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	if c.Driver.Allowed == nil {
		c.Driver.Allowed = DefaultConfig().Driver.Allowed
	}
	if c.Driver.Value == "" {
		c.Driver.Value = DriverLocal
	}
	*c = c.withDefaults()
	fs.Var(&c.Driver, "meetings.driver", "video meetings: local (Jitsi Meet rooms, no cloud account) or chime (Amazon Chime SDK Meetings)")
	fs.StringVar(&c.Region, "meetings.region", c.Region,
		"Chime control region whose API creates and deletes meetings (us-east-1, us-west-2, eu-central-1, ap-southeast-1…; not sa-east-1)")
	fs.StringVar(&c.Endpoint, "meetings.endpoint", c.Endpoint, "Chime API endpoint URL replacing the control region's (VPC endpoint); empty for the default")
	fs.StringVar(&c.MediaRegion, "meetings.media-region", c.MediaRegion, "AWS region hosting a meeting's media when the request names none")
	fs.DurationVar(&c.Timeout, "meetings.timeout", c.Timeout, "time limit of one HTTP attempt to Chime (throttling and 5xx are retried within the caller's deadline)")
	fs.StringVar(&c.LocalBaseURL, "meetings.local-base-url", c.LocalBaseURL,
		"Jitsi Meet deployment the local driver opens rooms on; set your self-hosted one (meetings.driver=local)")
}

// Check reports bad settings. Empty or zero fields take DefaultConfig's values.
func (c Config) Check(p *config.Problems) {
	c = c.withDefaults()
	p.Check(regionPattern.MatchString(c.MediaRegion), "meetings.media-region=%q: must be an AWS region, e.g. %s", c.MediaRegion, DefaultMediaRegion)
	p.Check(c.Timeout >= time.Second && c.Timeout <= time.Minute, "meetings.timeout=%s: must be between 1s and 1m", c.Timeout)
	switch c.driver() {
	case DriverLocal:
		_, err := parseLocalBaseURL(c.LocalBaseURL)
		p.Check(err == nil, "meetings.local-base-url=%q: %v", c.LocalBaseURL, err)
	case DriverChime:
		p.Check(regionPattern.MatchString(c.Region), "meetings.region=%q: must be an AWS region, e.g. %s", c.Region, DefaultRegion)
		if c.Endpoint != "" {
			_, err := parseEndpoint(c.Endpoint)
			p.Check(err == nil, "meetings.endpoint=%q: %v", c.Endpoint, err)
		}
	default:
		p.Addf("meetings.driver=%q: must be %s or %s", c.Driver.Value, DriverLocal, DriverChime)
	}
}

// Open returns the configured driver.
func (c Config) Open(ctx context.Context) (Driver, error) {
	c = c.withDefaults()
	switch c.driver() {
	case DriverLocal:
		l, err := NewLocal(LocalConfig{BaseURL: c.LocalBaseURL})
		if err != nil {
			return nil, err
		}
		return l, nil
	case DriverChime:
		d, err := NewChime(ctx, ChimeConfig{Region: c.Region, Endpoint: c.Endpoint, Timeout: c.Timeout, Transport: c.Transport})
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("meetings: unknown driver %q", c.Driver.Value)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	orDefault(&c.Region, d.Region)
	orDefault(&c.MediaRegion, d.MediaRegion)
	orDefault(&c.LocalBaseURL, d.LocalBaseURL)
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	return c
}

// ProductionDriver describes the driver choice for production's check: serve refuses a
// driver left at its default, and a development one without -allow-dev-drivers.
func (c Config) ProductionDriver() config.Driver {
	return config.Driver{Flag: "meetings.driver", Choice: c.Driver, Dev: c.driver() == DriverLocal, Production: DriverChime,
		Why: "consultations in local rooms, not Chime"}
}

func (c Config) driver() string {
	if c.Driver.Value == "" {
		return DriverLocal
	}
	return c.Driver.Value
}

func orDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}
