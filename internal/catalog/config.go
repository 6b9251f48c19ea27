package catalog

import (
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"healthcore/platform/authn"
	"healthcore/platform/config"
	"healthcore/platform/logging"
)

// Config is everything the binary can be told, from flags or HEALTHCORE_* variables:
// the process's own settings, and every service's address, URL and Config.
type Config struct {
	DataDir        string
	DatabaseURL    string
	DBMaxConns     int
	PprofAddr      string
	LogLevel       string
	ServiceKeys    string // folder of the service-token keys
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
	Transport

	services    map[string]settings // each service's Config, by name
	serviceKeys *authn.ServiceKeys  // set by OpenServiceKeys
}

// NewConfig registers every flag on fs and returns the Config they fill. dev makes the
// services listen on loopback by default (-listen-host).
func NewConfig(fs *flag.FlagSet, dev bool) *Config {
	c := &Config{Addr: map[string]*string{}, URL: map[string]*string{}, services: map[string]settings{}}
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
	fs.StringVar(&c.ServiceKeys, "service-keys", "",
		"folder of the service-token keys: <service>.pub of every service, <service>.key of those this process runs (dev makes keys in memory)")
	fs.StringVar(&c.ListenHost, "listen-host", host, "host the services and the REST edge listen on, when their -*.addr names none")
	fs.StringVar(&c.GatewayAddr, "gateway.addr", ":8080", "REST edge listen address (host from -listen-host when empty)")
	fs.StringVar(&c.CORSOrigins, "gateway.cors-origins", "http://localhost:3000,http://127.0.0.1:3000", "comma-separated browser origins allowed to call the API (* for any)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "127.0.0.0/8,::1/128", "comma-separated CIDRs whose X-Forwarded-For is believed (the gateway, load balancers)")
	fs.Int64Var(&c.MaxBodyBytes, "gateway.max-body-bytes", 1<<20, "largest REST request body accepted")
	fs.DurationVar(&c.DrainDelay, "drain-delay", 0, "time to keep serving after reporting NOT_SERVING on shutdown (5s behind a load balancer)")
	for _, s := range services {
		addr := fmt.Sprintf(":%d", s.Port)
		url := fmt.Sprintf("http://127.0.0.1:%d", s.Port)
		c.Addr[s.Name] = fs.String(s.Name+".addr", addr, "listen address of the "+s.Name+" service (host from -listen-host when empty)")
		c.URL[s.Name] = fs.String(s.Name+".url", url, "URL other processes use to reach the "+s.Name+" service")
	}
	c.Transport.registerFlags(fs)
	for _, s := range services {
		c.services[s.Name] = s.settings()
		c.services[s.Name].RegisterFlags(fs)
	}
	return c
}

// Parse reads flags and environment, then checks every value.
func (c *Config) Parse(fs *flag.FlagSet, args []string) error {
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
	c.Transport.check(&p)
	for _, s := range services {
		c.services[s.Name].Check(&p)
	}
	return p.Err()
}

// ServiceConfig returns the Config of the service whose Config type is C, as parsed:
// for the few commands that read one service's settings outside its start function.
func ServiceConfig[C any](c *Config) *C {
	for _, s := range c.services {
		if cfg, ok := any(s).(*C); ok {
			return cfg
		}
	}
	panic(fmt.Sprintf("catalog: no service has a Config of type %T", (*C)(nil)))
}

// Logger is the process's logger at the configured level.
func (c *Config) Logger() *slog.Logger {
	level, _ := logging.ParseLevel(c.LogLevel)
	return logging.New(os.Stderr, level)
}

// AllowedOrigins are the browser origins the gateway lets call the API.
func (c *Config) AllowedOrigins() []string { return SplitList(c.CORSOrigins) }

func (c *Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range SplitList(c.TrustedProxies) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// OpenServiceKeys readies the keys of the service tokens by which the services named
// (those this process runs) prove who they are to the services they call: read from
// -service-keys (every service's public keys, the private keys of those named), or,
// when that is empty and inMemory is set (dev, whose services share the process),
// made in memory for every service.
func (c *Config) OpenServiceKeys(names []string, inMemory bool) error {
	var err error
	switch {
	case c.ServiceKeys != "":
		c.serviceKeys, err = authn.LoadServiceKeys(c.ServiceKeys, names)
	case inMemory:
		c.serviceKeys, err = authn.GenerateServiceKeys(Names())
	default:
		return fmt.Errorf("-service-keys (%s) is required: the folder of the services' token keys", config.EnvName("service-keys"))
	}
	if err != nil {
		return fmt.Errorf("-service-keys: %w", err)
	}
	var missing []string
	for _, name := range Names() {
		if !c.serviceKeys.Knows(name) {
			missing = append(missing, name+".pub")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("-service-keys=%s: every service's public key is needed; missing %s", c.ServiceKeys, strings.Join(missing, ", "))
	}
	return nil
}

// SplitList splits a comma-separated flag value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
