package keys

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"

	"healthcore/platform/config"
)

// Driver names accepted by the keys.driver flag.
const (
	DriverLocal = "local"
	DriverAWS   = "aws"
)

// Config chooses and configures the driver. The zero value, like DefaultConfig, is
// the local driver.
type Config struct {
	Driver config.Choice
	AWS    AWSConfig
}

// DefaultConfig is the development setting: the local keyring.
func DefaultConfig() Config {
	return Config{Driver: config.Choice{Value: DriverLocal, Allowed: []string{DriverLocal, DriverAWS}}}
}

// RegisterFlags binds the settings to flags named keys.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	if c.Driver.Allowed == nil {
		c.Driver.Allowed = DefaultConfig().Driver.Allowed
	}
	if c.Driver.Value == "" {
		c.Driver.Value = DriverLocal
	}
	fs.Var(&c.Driver, "keys.driver", "key management: local (master keys in the data folder) or aws (AWS KMS)")
	fs.StringVar(&c.AWS.KeyID, "keys.aws-key-id", c.AWS.KeyID, "default KMS key: key id, key ARN or alias (alias/…); needed by keys.driver=aws")
	fs.StringVar(&c.AWS.Region, "keys.aws-region", c.AWS.Region, "AWS region of the KMS key, e.g. sa-east-1; needed by keys.driver=aws")
	fs.StringVar(&c.AWS.Endpoint, "keys.aws-endpoint", c.AWS.Endpoint, "KMS endpoint URL replacing the regional one (VPC endpoint); empty for the default")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	switch c.driver() {
	case DriverLocal:
	case DriverAWS:
		p.Check(c.AWS.KeyID != "", "keys.aws-key-id: required when keys.driver=aws (a key id, key ARN or alias such as alias/healthcore)")
		p.Check(c.AWS.Region != "", "keys.aws-region: required when keys.driver=aws (the key's region, e.g. sa-east-1)")
		if c.AWS.Endpoint != "" {
			u, err := url.Parse(c.AWS.Endpoint)
			p.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "",
				"keys.aws-endpoint=%q: must be an absolute http(s) URL, e.g. https://kms.example.internal", c.AWS.Endpoint)
		}
	default:
		p.Addf("keys.driver=%q: must be %s or %s", c.Driver.Value, DriverLocal, DriverAWS)
	}
}

// Open returns the configured driver; the local one keeps its keyring in
// dataDir/keys.
func (c Config) Open(ctx context.Context, dataDir string) (Driver, error) {
	switch c.driver() {
	case DriverLocal:
		l, err := OpenLocal(filepath.Join(dataDir, "keys"))
		if err != nil {
			return nil, err
		}
		return l, nil
	case DriverAWS:
		a, err := NewAWS(ctx, c.AWS)
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	return nil, fmt.Errorf("keys: unknown driver %q", c.Driver.Value)
}

// ProductionDriver describes the driver choice for production's check: serve refuses a
// driver left at its default, and a development one without -allow-dev-drivers.
func (c Config) ProductionDriver() config.Driver {
	return config.Driver{Flag: "keys.driver", Choice: c.Driver, Dev: c.driver() == DriverLocal, Production: DriverAWS,
		Why: "master keys in a file on the pod's disk"}
}

func (c Config) driver() string {
	if c.Driver.Value == "" {
		return DriverLocal
	}
	return c.Driver.Value
}
