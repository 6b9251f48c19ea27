package blobs

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"healthcore/platform/config"
)

// Driver names accepted by the blobs.driver flag.
const (
	DriverLocal = "local"
	DriverS3    = "s3"
)

// Config chooses and configures the driver. The zero value, like DefaultConfig, is
// the local driver.
type Config struct {
	Driver config.Choice
	S3     S3Config
}

// DefaultConfig is the development setting: files in the data folder.
func DefaultConfig() Config {
	return Config{Driver: config.Choice{Value: DriverLocal, Allowed: []string{DriverLocal, DriverS3}}}
}

// RegisterFlags binds the settings to flags named blobs.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	if c.Driver.Allowed == nil {
		c.Driver.Allowed = DefaultConfig().Driver.Allowed
	}
	if c.Driver.Value == "" {
		c.Driver.Value = DriverLocal
	}
	fs.Var(&c.Driver, "blobs.driver", "object storage: local (files in the data folder) or s3 (Amazon S3 or an S3-compatible store)")
	fs.StringVar(&c.S3.Bucket, "blobs.s3-bucket", c.S3.Bucket, "S3 bucket holding the objects; needed by blobs.driver=s3")
	fs.StringVar(&c.S3.Prefix, "blobs.s3-prefix", c.S3.Prefix, "prefix put before every object key, e.g. healthcore/blobs/; empty for none")
	fs.StringVar(&c.S3.Region, "blobs.s3-region", c.S3.Region, "AWS region of the bucket, e.g. sa-east-1; needed by blobs.driver=s3")
	fs.StringVar(&c.S3.Endpoint, "blobs.s3-endpoint", c.S3.Endpoint, "S3 endpoint URL replacing the regional one (VPC endpoint, S3-compatible store); empty for the default")
	fs.BoolVar(&c.S3.PathStyle, "blobs.s3-path-style", c.S3.PathStyle, "address the bucket in the URL path instead of the host name (most S3-compatible stores)")
	fs.StringVar(&c.S3.SSEKMSKeyID, "blobs.s3-sse-kms-key-id", c.S3.SSEKMSKeyID,
		"KMS key (id, ARN or alias ARN) that S3 encrypts objects with (SSE-KMS); empty keeps the bucket's default encryption")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	switch c.driver() {
	case DriverLocal:
	case DriverS3:
		p.Check(c.S3.Bucket != "", "blobs.s3-bucket: required when blobs.driver=s3")
		p.Check(c.S3.Region != "", "blobs.s3-region: required when blobs.driver=s3 (the bucket's region, e.g. sa-east-1)")
		if c.S3.Endpoint != "" {
			u, err := url.Parse(c.S3.Endpoint)
			p.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "",
				"blobs.s3-endpoint=%q: must be an absolute http(s) URL, e.g. https://s3.example.internal", c.S3.Endpoint)
		}
		p.Check(!strings.HasPrefix(c.S3.Prefix, "/"), "blobs.s3-prefix=%q: must not start with '/' (S3 keys have no leading slash)", c.S3.Prefix)
	default:
		p.Addf("blobs.driver=%q: must be %s or %s", c.Driver.Value, DriverLocal, DriverS3)
	}
}

// Open returns the configured driver; the local one keeps its files in dataDir/blobs.
func (c Config) Open(ctx context.Context, dataDir string) (Driver, error) {
	switch c.driver() {
	case DriverLocal:
		l, err := OpenLocal(filepath.Join(dataDir, "blobs"))
		if err != nil {
			return nil, err
		}
		return l, nil
	case DriverS3:
		d, err := NewS3(ctx, c.S3)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("blobs: unknown driver %q", c.Driver.Value)
}

// ProductionDriver describes the driver choice for production's check: serve refuses a
// driver left at its default, and a development one without -allow-dev-drivers.
func (c Config) ProductionDriver() config.Driver {
	return config.Driver{Flag: "blobs.driver", Choice: c.Driver, Dev: c.driver() == DriverLocal, Production: DriverS3,
		Why: "health records as files on the pod's disk"}
}

func (c Config) driver() string {
	if c.Driver.Value == "" {
		return DriverLocal
	}
	return c.Driver.Value
}
