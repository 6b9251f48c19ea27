package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
	"healthcore/platform/server"
	"healthcore/platform/tracing"
)

// Process holds what the services of one OS process share: configuration, logger,
// metrics registry, database pools and the HTTP client of calls to other services.
type Process struct {
	cfg     *Config
	log     *slog.Logger
	dbURL   string
	reg     *prometheus.Registry
	metrics *server.Metrics
	trusted []netip.Prefix
	http    *http.Client
	keys    *authn.ServiceKeys // service-token keys; nil in a process that calls no service as one
	// tracing is set by StartTracing (nil: tracing off); not under mu, which is held
	// while clients, which ask for it, are built.
	tracing atomic.Pointer[tracing.Tracing]

	mu       sync.Mutex
	pools    []*pgxpool.Pool
	verifier *authn.Verifier
	ops      *server.Ops   // the ops listener, once StartOps opened it
	deps     []*dependency // soft dependencies (dependOn)
	dbDep    *dependency   // the database, once a pool is open

	clientsMu sync.Mutex
	clients   map[string]*http.Client // over mTLS, by callee (httpFor)

	dev map[string]http.Handler // development pages of local drivers (DevRoutes), guarded by devMu
}

// NewProcess prepares the shared parts of a process whose services use the database at
// dbURL ("" when none does). cfg must have been parsed, and its service keys opened
// when the process runs services.
func NewProcess(cfg *Config, dbURL string) *Process {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	trusted, _ := cfg.trustedProxies()
	p := &Process{
		cfg: cfg, log: cfg.Logger(), dbURL: dbURL, reg: reg, metrics: server.NewMetrics(reg), trusted: trusted,
		http: newHTTPClient(nil), keys: cfg.serviceKeys, clients: map[string]*http.Client{},
	}
	reg.MustRegister(dependencyCollector{p})
	return p
}

// Logger is the process's logger.
func (p *Process) Logger() *slog.Logger { return p.log }

// Registry is the process's metrics registry, which its ops listener serves (StartOps).
func (p *Process) Registry() *prometheus.Registry { return p.reg }

// pool opens a connection pool whose search_path is the service's schema, and exports
// its statistics on the process's registry (and, when the schema holds River's tables,
// its job queues').
func (p *Process) pool(ctx context.Context, service string, schema pg.Schema) (*pgxpool.Pool, error) {
	db, err := pg.OpenTraced(ctx, p.dbURL, schema.Name, int32(p.cfg.DBMaxConns), p.Tracer(service))
	if err != nil {
		return nil, err
	}
	p.register(pg.NewPoolCollector(schema.Name, db))
	if schema.Jobs {
		p.register(jobs.NewQueueCollector(schema.Name, db))
	}
	p.mu.Lock()
	p.pools = append(p.pools, db)
	p.mu.Unlock()
	return db, nil
}

// register adds a collector to the process's registry; one that clashes with another
// (which the catalog's wiring never makes) is logged and left out rather than failing
// the start.
func (p *Process) register(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := p.reg.Register(c); err != nil {
			p.log.Warn("metrics not registered", "err", err)
		}
	}
}

func (p *Process) newServer(name string, auth connect.Interceptor) *server.Server {
	return server.New(server.Options{
		Addr: p.cfg.ListenAddr(name), Logger: p.log.With("service", name), Metrics: p.metrics, Tracer: p.Tracer(name), Reflection: p.cfg.Reflection,
		Auth: auth, TrustedProxies: p.trusted, DrainDelay: p.cfg.DrainDelay, TLS: p.cfg.TLS(),
		Ready: p.databaseReady,
	})
}

// databaseReady is the readiness of the process's services: the database answers (nil
// when the process opened no pool). The pools reach one server, so one is asked.
func (p *Process) databaseReady(ctx context.Context) error {
	p.mu.Lock()
	var db *pgxpool.Pool
	if len(p.pools) > 0 {
		db = p.pools[0]
	}
	p.mu.Unlock()
	if db == nil {
		return nil
	}
	if err := db.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// remoteAuth authenticates the callers of the service name: users by tokens verified
// against identity's keys and list of ended sessions, services by the tokens they send
// to name or by their certificates.
func (p *Process) remoteAuth(name string) connect.Interceptor {
	return authn.NewInterceptor(p.remoteVerifier(name), p.serviceVerifier(name))
}

// serviceVerifier verifies the service tokens sent to the service name; nil (every
// service token refused) when the process has no service keys and its callers are
// known by their certificates alone.
func (p *Process) serviceVerifier(name string) *authn.ServiceVerifier {
	switch {
	case p.keys != nil:
		return p.keys.Verifier(name)
	case p.cfg.TLS() == nil:
		panic("catalog: the process runs services but has neither a certificate nor service keys (Config.OpenTLS, Config.OpenServiceKeys)")
	}
	return nil
}

// remoteVerifier verifies user tokens against the JWKS of the identity service and
// refuses those of sessions identity lists as ended; one per process, so its caches
// are shared. The JWKS is public: its client sends no token, but over mTLS it checks
// that identity is who answers. The list of ended sessions is internal: the process
// asks for it as caller, the first of its services to verify tokens.
func (p *Process) remoteVerifier(caller string) *authn.Verifier {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.verifier == nil {
		jwks := identityv1connect.NewIdentityServiceClient(p.httpFor("identity"), p.url("identity"), connect.WithGRPC())
		revoked := client(p, caller, "identity", identityv1connect.NewIdentityServiceClient)
		p.verifier = authn.NewVerifier(authn.JWKSFromIdentity(jwks)).WithProfile(p.cfg.TokenProfile()).
			CheckRevocations(authn.RevokedFromIdentity(revoked), p.cfg.RevokedSessions)
	}
	return p.verifier
}

// StartTracing starts the process's tracing as -otel-* say (nothing with
// -otel-exporter=none); stop flushes the spans not yet exported, so call it after the
// services have stopped.
func (p *Process) StartTracing(ctx context.Context) (stop func(), err error) {
	t, err := tracing.Open(ctx, p.cfg.Tracing, p.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	p.tracing.Store(t)
	if t == nil {
		return func() {}, nil
	}
	p.log.Info("tracing", "exporter", p.cfg.Tracing.Exporter.Value, "sample_ratio", p.cfg.Tracing.SampleRatio)
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := t.Shutdown(sctx); err != nil {
			p.log.Warn("tracing: spans lost at shutdown", "error", err.Error())
		}
	}, nil
}

// Tracer is the TracerProvider of the named service (or "gateway") of the process,
// nil when tracing is off: the instrumentation is then left out altogether.
func (p *Process) Tracer(name string) trace.TracerProvider {
	t := p.tracing.Load()
	if t == nil {
		return nil
	}
	return t.Provider(name)
}

// Run starts the named services in catalog order, each serving on its own port as soon
// as it is built, calls ready (when not nil) once all serve, and returns when ctx ends
// (after a graceful stop) or when one fails (stopping the others).
func (p *Process) Run(ctx context.Context, names []string, ready func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	fail := func(err error) { cancel(err) }
	for _, s := range services {
		if !slices.Contains(names, s.Name) {
			continue
		}
		srv, bg, err := s.start(ctx, p, p.cfg.services[s.Name])
		if err != nil {
			cancel(err)
			wg.Wait()
			return fmt.Errorf("start %s: %w", s.Name, err)
		}
		ln, err := srv.Listen()
		if err != nil {
			cancel(err)
			wg.Wait()
			return fmt.Errorf("start %s: %w", s.Name, err)
		}
		wg.Go(func() {
			if err := srv.Serve(ctx, ln); err != nil {
				fail(fmt.Errorf("%s: %w", s.Name, err))
			}
		})
		if bg != nil {
			wg.Go(func() {
				if err := bg(ctx); err != nil && ctx.Err() == nil {
					fail(fmt.Errorf("%s background: %w", s.Name, err))
				}
			})
		}
	}
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Close closes the database pools the services opened.
func (p *Process) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, db := range p.pools {
		db.Close()
	}
}
