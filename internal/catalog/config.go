package catalog

import (
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"healthcore/platform/authn"
	"healthcore/platform/config"
	"healthcore/platform/logging"
	"healthcore/platform/tracing"
	"healthcore/services/clinics"
	"healthcore/services/identity"
)

// Config is everything the binary can be told, from flags or HEALTHCORE_* variables:
// the process's own settings, and every service's address, URL and Config.
type Config struct {
	DataDir        string
	DatabaseURL    string
	DBMaxConns     int
	LogLevel       string
	ServiceKeys    string // folder of the service-token keys
	ListenHost     string
	GatewayAddr    string
	CORSOrigins    string
	WebOrigins     string
	TrustedProxies proxyList
	MaxBodyBytes   int64
	// GatewayCacheEntries bounds the public reads' versions the edge remembers.
	GatewayCacheEntries int
	// GatewayCacheBytes bounds the public reads' answers the edge keeps.
	GatewayCacheBytes int64
	// GatewayGCPercent is the garbage collector's GOGC of a process that runs the
	// gateway alone (-gateway.gc-percent).
	GatewayGCPercent int
	DrainDelay       time.Duration
	// RevokedSessions bounds how long each service of the process may accept a token
	// of a session that has ended (-revoked-sessions-*).
	RevokedSessions authn.RevocationPolicy
	// AllowDevDrivers lets serve run a development driver named explicitly (set by
	// -allow-dev-drivers, which only serve registers).
	AllowDevDrivers bool
	// Addr and URL of every service, by name: where it listens, and where the others
	// (and the gateway) reach it.
	Addr map[string]*string
	URL  map[string]*string
	Transport
	Ops
	PartnerEdge PartnerEdge
	// Tracing is the process's OpenTelemetry tracing (-otel-*).
	Tracing tracing.Config

	services    map[string]settings // each service's Config, by name
	serviceKeys *authn.ServiceKeys  // set by OpenServiceKeys
}

// DefaultGatewayGCPercent is the gateway process's GOGC: its heap is a few MiB of
// short-lived request garbage, so collecting half as often costs little memory and
// saves CPU on every request. 400 cut the search's open-loop p99 a little more (each
// collection's mark slows the requests in flight) but doubled a gateway's memory with
// 1,250 client connections (README "Capacity"): not worth it.
const DefaultGatewayGCPercent = 200

// NewConfig registers every flag on fs and returns the Config they fill. dev makes the
// services listen on loopback by default (-listen-host) and trusts loopback proxies
// by default (-trusted-proxies); production names its proxies (CheckProduction).
func NewConfig(fs *flag.FlagSet, dev bool) *Config {
	c := &Config{Addr: map[string]*string{}, URL: map[string]*string{}, services: map[string]settings{}}
	host := "0.0.0.0"
	if dev {
		host = "127.0.0.1" // a laptop's dev stack is not for the network
		c.TrustedProxies.value = devTrustedProxies
	}
	fs.StringVar(&c.DataDir, "data-dir", "data", "folder for local state: master key, private PostgreSQL cluster")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL (also DATABASE_URL); dev finds or starts one when empty")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", 8,
		"connections each service's pool may open (services in one process add up; keep the sum under the server's max_connections)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.ServiceKeys, "service-keys", "",
		"folder of the service-token keys: <service>.pub of every service, <service>.key of those this process runs (dev makes keys in memory)")
	fs.StringVar(&c.ListenHost, "listen-host", host, "host the services and the REST edge listen on, when their -*.addr names none")
	fs.StringVar(&c.GatewayAddr, "gateway.addr", ":8080", "REST edge listen address (host from -listen-host when empty)")
	fs.StringVar(&c.CORSOrigins, "gateway.cors-origins", "http://localhost:3000,http://127.0.0.1:3000", "comma-separated browser origins allowed to call the API (* for any)")
	fs.StringVar(&c.WebOrigins, "gateway.web-origins", "",
		"comma-separated origins of the web app allowed to use the session cookie (login, refresh, logout); empty: the edge's own origin")
	fs.Var(&c.TrustedProxies, "trusted-proxies",
		"comma-separated CIDRs whose X-Forwarded-For is believed (the gateway, load balancers), or "+noProxies+" to believe no peer; serve and gateway need it (dev: "+devTrustedProxies+")")
	fs.Int64Var(&c.MaxBodyBytes, "gateway.max-body-bytes", 1<<20, "largest REST request body accepted")
	fs.IntVar(&c.GatewayCacheEntries, "gateway.cache-entries", 10_000,
		"public reads (search, a profile, slots, specialties) whose current ETag the edge remembers, to answer If-None-Match with 304 without calling the service")
	fs.Int64Var(&c.GatewayCacheBytes, "gateway.cache-bytes", 0,
		"bytes of public reads' answers each gateway process keeps, to answer them while fresh (their max-age) without calling the service, as a CDN would (a change then shows once its max-age has passed); 0 keeps none")
	fs.IntVar(&c.GatewayGCPercent, "gateway.gc-percent", DefaultGatewayGCPercent,
		"the gateway command's garbage collection target (GOGC: heap growth between collections, in percent; -1 turns collection off); the GOGC variable, when set, wins")
	fs.DurationVar(&c.DrainDelay, "drain-delay", 0, "time to keep serving after reporting NOT_SERVING on shutdown (5s behind a load balancer)")
	c.RevokedSessions = authn.DefaultRevocationPolicy
	fs.DurationVar(&c.RevokedSessions.Refresh, "revoked-sessions-refresh", c.RevokedSessions.Refresh,
		"how often each service fetches identity's list of ended sessions: a logged-out session's access tokens are refused everywhere within it")
	fs.DurationVar(&c.RevokedSessions.MaxStale, "revoked-sessions-max-stale", c.RevokedSessions.MaxStale,
		"how long a service keeps using its last list of ended sessions while identity cannot be reached; past it every user token is refused (503) until identity answers")
	for _, s := range services {
		addr := fmt.Sprintf(":%d", s.Port)
		url := fmt.Sprintf("http://127.0.0.1:%d", s.Port)
		c.Addr[s.Name] = fs.String(s.Name+".addr", addr, "listen address of the "+s.Name+" service (host from -listen-host when empty)")
		c.URL[s.Name] = fs.String(s.Name+".url", url, "URL other processes use to reach the "+s.Name+" service")
	}
	c.Transport.registerFlags(fs)
	c.Ops.registerFlags(fs, dev)
	c.PartnerEdge.registerFlags(fs)
	c.Tracing.RegisterFlags(fs, dev)
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
	p.Check(c.RevokedSessions.Refresh >= 0 && c.RevokedSessions.Refresh <= time.Minute,
		"-revoked-sessions-refresh=%s: must be between 0 (every call asks identity) and 1m", c.RevokedSessions.Refresh)
	p.Check(c.RevokedSessions.MaxStale >= c.RevokedSessions.Refresh+c.RevokedSessions.Timeout,
		"-revoked-sessions-max-stale=%s: must be at least -revoked-sessions-refresh plus one fetch's timeout (%s), so one failed fetch is retried before tokens are refused",
		c.RevokedSessions.MaxStale, c.RevokedSessions.Refresh+c.RevokedSessions.Timeout)
	p.Check(c.GatewayGCPercent >= -1, "-gateway.gc-percent=%d: must be -1 (off) or more", c.GatewayGCPercent)
	p.Check(c.GatewayCacheBytes >= 0, "-gateway.cache-bytes=%d: must be 0 (keep none) or more", c.GatewayCacheBytes)
	p.Check(c.GatewayCacheEntries >= 1, "-gateway.cache-entries=%d: must be at least 1", c.GatewayCacheEntries)
	p.Check(c.MaxBodyBytes >= 1024, "-gateway.max-body-bytes=%d: must be at least 1024", c.MaxBodyBytes)
	c.Transport.check(&p)
	c.Ops.check(&p)
	c.PartnerEdge.check(&p)
	c.Tracing.Check(&p)
	for _, s := range services {
		c.services[s.Name].Check(&p)
	}
	return p.Err()
}

// RegisterServeFlags registers the flags only serve takes: -allow-dev-drivers.
func (c *Config) RegisterServeFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.AllowDevDrivers, "allow-dev-drivers", false,
		"let serve run the development drivers named explicitly (-pix.driver=sandbox, -keys.driver=local, -blobs.driver=local, -meetings.driver=local, -notifications.email-driver=sink, -notifications.whatsapp-driver=sandbox): never in production")
}

// productionDriver is a service Config whose driver production checks.
type productionDriver interface{ ProductionDriver() config.Driver }

// productionDrivers is a service Config with several drivers (notifications: e-mail and
// WhatsApp).
type productionDrivers interface{ ProductionDrivers() []config.Driver }

// driversOf returns the drivers production checks in a service's Config.
func driversOf(s settings) []config.Driver {
	switch d := s.(type) {
	case productionDriver:
		return []config.Driver{d.ProductionDriver()}
	case productionDrivers:
		return d.ProductionDrivers()
	}
	return nil
}

// CheckProduction reports what production (serve, gateway) refuses beyond Parse's
// checks, each naming the flag to set: a trusted proxy list not given explicitly, and,
// for the services named (those this process runs), a driver left at its default or
// a development driver without -allow-dev-drivers.
func (c *Config) CheckProduction(names []string) error {
	var p config.Problems
	p.Check(c.TrustedProxies.named, "-trusted-proxies (%s) is required: the CIDRs of the proxies whose X-Forwarded-For is believed "+
		"(the gateway, the load balancer), or -trusted-proxies=%s to believe no peer", config.EnvName("trusted-proxies"), noProxies)
	// -demo is dev's alone (serve and gateway have no such flag): its variable, set
	// where production runs, would otherwise be silently ignored.
	demo := os.Getenv(config.EnvName("demo")) != ""
	p.Check(!demo, "%s is set: the demo (short booking windows, the finish control) is `healthcore dev -demo` only; unset it", config.EnvName("demo"))
	// RS256 is the API Gateway's profile: its JWT authorizer reads the issuer's
	// discovery document over https, so an issuer that is not an https URL would make
	// every token be refused there.
	if tp := c.TokenProfile(); tp.Alg == authn.AlgRS256 {
		u, ok := tp.IssuerURL()
		p.Check(ok && strings.HasPrefix(u, "https://") && u == tp.Issuer,
			"-identity.issuer=%q (%s): with -identity.token-alg=%s (the API Gateway profile) it must be the API's public https URL, no path or trailing slash, e.g. https://api.example.com, whose /.well-known/openid-configuration the JWT authorizer reads",
			tp.Issuer, config.EnvName("identity.issuer"), tp.Alg)
	}
	if id := ServiceConfig[identity.Config](c); id != nil && slices.Contains(names, "identity") && !c.AllowDevDrivers {
		p.Check(!id.Argon2.BelowOWASP(), "-identity.argon2-memory-kib=%d with -identity.argon2-iterations=%d is weaker than OWASP's argon2id minimum "+
			"(19456 KiB with 2 passes, or 7168 with 5): raise them, or add -allow-dev-drivers for a test or a benchmark's preparation", id.Argon2.MemoryKiB, id.Argon2.Iterations)
	}
	if cl := ServiceConfig[clinics.Config](c); cl != nil && slices.Contains(names, "clinics") && !c.AllowDevDrivers {
		p.Check(!cl.EventAllowLoopback, "-clinics.events-allow-loopback sends partner events to loopback addresses, over http:// too: "+
			"for development and tests only; drop it, or add -allow-dev-drivers for a local stack of processes")
	}
	for _, name := range names {
		for _, d := range driversOf(c.services[name]) {
			config.CheckProduction(&p, d, c.AllowDevDrivers)
		}
	}
	return p.Err()
}

// DevDriverFlags name every development driver explicitly and allow them: what serve
// needs to run the catalog's services as dev does (the end-to-end and benchmark
// stacks).
func DevDriverFlags() []string {
	out := []string{"-allow-dev-drivers"}
	for _, s := range services {
		for _, pd := range driversOf(s.settings()) {
			out = append(out, "-"+pd.Flag+"="+pd.Choice.Value)
		}
	}
	return out
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

// TokenProfile is the access tokens' profile (-identity.token-alg, -identity.issuer,
// -identity.audience): every process verifies tokens against it, the gateway publishes
// it in its discovery document.
func (c *Config) TokenProfile() authn.TokenProfile {
	return ServiceConfig[identity.Config](c).Tokens
}

// Logger is the process's logger at the configured level.
func (c *Config) Logger() *slog.Logger {
	level, _ := logging.ParseLevel(c.LogLevel)
	return logging.New(os.Stderr, level)
}

// AllowedOrigins are the browser origins the gateway lets call the API.
func (c *Config) AllowedOrigins() []string { return SplitList(c.CORSOrigins) }

// WebAppOrigins are the web app's origins (empty: the edge's own).
func (c *Config) WebAppOrigins() []string { return SplitList(c.WebOrigins) }

// devTrustedProxies is dev's -trusted-proxies: loopback, where its gateway runs.
const devTrustedProxies = "127.0.0.0/8,::1/128"

// noProxies is the -trusted-proxies value that believes no peer's X-Forwarded-For.
const noProxies = "none"

// proxyList is the value of -trusted-proxies, which knows whether it was given (on the
// command line or in the environment).
type proxyList struct {
	value string
	named bool
}

func (l *proxyList) String() string {
	if l == nil {
		return ""
	}
	return l.value
}

func (l *proxyList) Set(s string) error {
	l.value, l.named = s, true
	return nil
}

func (c *Config) trustedProxies() ([]netip.Prefix, error) {
	v := strings.TrimSpace(c.TrustedProxies.value)
	switch {
	case v == noProxies:
		return nil, nil
	case v == "" && c.TrustedProxies.named:
		return nil, fmt.Errorf("empty: give the proxies' CIDRs, or %s to believe no peer", noProxies)
	}
	var out []netip.Prefix
	for _, s := range SplitList(v) {
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

// OpenCredentials readies what the services named (those this process runs, or for
// whom a command calls another service) prove who they are by, as production requires:
// the process's certificate (OpenTLS), and the services' token keys when a mesh ends
// TLS (-insecure-transport) or when -service-keys is given (then the tokens are sent
// and checked as well).
func (c *Config) OpenCredentials(names []string) error {
	if err := c.OpenTLS(true); err != nil {
		return err
	}
	if c.TLS() == nil || c.ServiceKeys != "" {
		return c.OpenServiceKeys(names, false)
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
