package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"healthcore/platform/config"
	"healthcore/platform/logging"
	"healthcore/services/blobs"
	"healthcore/services/identity"
	"healthcore/services/keys"
	"healthcore/services/meetings"
	"healthcore/services/payments"
	"healthcore/services/pix"
	"healthcore/services/records"
	"healthcore/services/scheduling"
	"healthcore/services/telehealth"
)

// Config is everything the binary can be told, from flags or HEALTHCORE_* variables.
type Config struct {
	DataDir        string
	DatabaseURL    string
	DBMaxConns     int
	PprofAddr      string
	LogLevel       string
	ServiceToken   string
	ListenHost     string
	GatewayAddr    string
	CORSOrigins    string
	TrustedProxies string
	MaxBodyBytes   int64
	DrainDelay     time.Duration
	// Addr and URL of every service, by name: where it listens, and where the others
	// (and the gateway) reach it.
	Addr map[string]*string
	URL  map[string]*string

	Identity   identity.Config
	Keys       keys.Config
	Scheduling scheduling.Config
	Pix        pix.Config
	Payments   payments.Config
	Meetings   meetings.Config
	Blobs      blobs.Config
	Records    records.Config
	Telehealth telehealth.Config
}

func newConfig(fs *flag.FlagSet, dev bool) *Config {
	c := &Config{Identity: identity.DefaultConfig(), Keys: keys.DefaultConfig(), Scheduling: scheduling.DefaultConfig(), Pix: pix.DefaultConfig(), Payments: payments.DefaultConfig(), Meetings: meetings.DefaultConfig(), Blobs: blobs.DefaultConfig(), Records: records.DefaultConfig(), Telehealth: telehealth.DefaultConfig(), Addr: map[string]*string{}, URL: map[string]*string{}}
	host := "0.0.0.0"
	if dev {
		host = "127.0.0.1" // a laptop's dev stack is not for the network
	}
	fs.StringVar(&c.DataDir, "data-dir", "data", "folder for local state: master key, private PostgreSQL cluster")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL (also DATABASE_URL); dev finds or starts one when empty")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; off when empty")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", 8,
		"connections each service's pool may open (services in one process add up; keep the sum under the server's max_connections)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.ServiceToken, "service-token", "", "credential services use to call each other's internal methods (dev makes one)")
	fs.StringVar(&c.ListenHost, "listen-host", host, "host the services listen on")
	fs.StringVar(&c.GatewayAddr, "gateway.addr", host+":8080", "REST edge listen address")
	fs.StringVar(&c.CORSOrigins, "gateway.cors-origins", "http://localhost:3000,http://127.0.0.1:3000", "comma-separated browser origins allowed to call the API (* for any)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "127.0.0.0/8,::1/128", "comma-separated CIDRs whose X-Forwarded-For is believed (the gateway, load balancers)")
	fs.Int64Var(&c.MaxBodyBytes, "gateway.max-body-bytes", 1<<20, "largest REST request body accepted")
	fs.DurationVar(&c.DrainDelay, "drain-delay", 0, "time to keep serving after reporting NOT_SERVING on shutdown (5s behind a load balancer)")
	for _, s := range catalog {
		addr := fmt.Sprintf("%s:%d", host, s.port)
		url := fmt.Sprintf("http://127.0.0.1:%d", s.port)
		c.Addr[s.name] = fs.String(s.name+".addr", addr, "listen address of the "+s.name+" service")
		c.URL[s.name] = fs.String(s.name+".url", url, "URL other processes use to reach the "+s.name+" service")
	}
	c.Identity.RegisterFlags(fs)
	c.Keys.RegisterFlags(fs)
	c.Scheduling.RegisterFlags(fs)
	c.Pix.RegisterFlags(fs)
	c.Payments.RegisterFlags(fs)
	c.Meetings.RegisterFlags(fs)
	c.Blobs.RegisterFlags(fs)
	c.Records.RegisterFlags(fs)
	c.Telehealth.RegisterFlags(fs)
	return c
}

// parse reads flags and environment, then checks every value.
func (c *Config) parse(fs *flag.FlagSet, args []string) error {
	var p config.Problems
	if err := config.Parse(fs, args, os.LookupEnv, &p); err != nil {
		return err
	}
	if c.DBMaxConns < 2 || c.DBMaxConns > 200 {
		p.Addf("-db-max-conns=%d: must be 2 to 200", c.DBMaxConns)
	}
	if _, err := logging.ParseLevel(c.LogLevel); err != nil {
		p.Addf("-log-level=%q: must be debug, info, warn or error", c.LogLevel)
	}
	if _, err := c.trustedProxies(); err != nil {
		p.Addf("-trusted-proxies: %v", err)
	}
	p.Check(c.MaxBodyBytes >= 1024, "-gateway.max-body-bytes=%d: must be at least 1024", c.MaxBodyBytes)
	p.Check(c.ServiceToken == "" || len(c.ServiceToken) >= 32, "-service-token: must be at least 32 characters")
	c.Identity.Check(&p)
	c.Keys.Check(&p)
	c.Scheduling.Check(&p)
	c.Pix.Check(&p)
	c.Payments.Check(&p)
	c.Meetings.Check(&p)
	c.Blobs.Check(&p)
	c.Records.Check(&p)
	c.Telehealth.Check(&p)
	return p.Err()
}

func (c *Config) logger() *slog.Logger {
	level, _ := logging.ParseLevel(c.LogLevel)
	return logging.New(os.Stderr, level)
}

func (c *Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range splitList(c.TrustedProxies) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// ensureServiceToken makes a random service credential when none is configured; only
// dev may, since its services share the process.
func (c *Config) ensureServiceToken() {
	if c.ServiceToken == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		c.ServiceToken = base64.RawURLEncoding.EncodeToString(b)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
