package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"

	"healthcore/gateway"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/gen/openapi"
	"healthcore/internal/catalog"
	"healthcore/partneredge"
	"healthcore/platform/auditchain"
	"healthcore/platform/envelope"
	"healthcore/platform/pg"
	"healthcore/services/identity"
	"healthcore/services/keys"
	"healthcore/services/notifications"
	"healthcore/services/pix"
	"healthcore/services/records"
	"healthcore/web"
)

// runDev runs everything on one machine: it finds or starts PostgreSQL, migrates, and
// starts every service on its own port and the gateway, with local drivers.
func runDev(ctx context.Context, args []string) error {
	cfg, demo, err := parseDev(args)
	if err != nil {
		return err
	}
	// dev's services share the process: their token keys are made in memory (unless
	// -service-keys names a folder).
	if err := cfg.OpenServiceKeys(catalog.Names(), true); err != nil {
		return err
	}
	// Plain h2c on loopback unless -tls-* are given (a certificate naming every service).
	if err := cfg.OpenTLS(false); err != nil {
		return err
	}
	log := cfg.Logger()
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		dbURL, err = pg.Locate(ctx, cfg.DataDir, log)
	} else {
		err = pg.EnsureDatabase(ctx, dbURL)
	}
	if err != nil {
		return err
	}
	if err := pg.Migrate(ctx, dbURL, log, append(catalog.Schemas(catalog.Names()), partneredge.Schema)...); err != nil {
		return err
	}
	p := catalog.NewProcess(cfg, dbURL)
	defer p.Close()
	stop, err := startTelemetry(ctx, p)
	if err != nil {
		return err
	}
	defer stop()

	var wg sync.WaitGroup
	errc := make(chan error, 3)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := make(chan struct{})
	wg.Go(func() {
		errc <- p.Run(ctx, catalog.Names(), func() { close(started) })
		cancel()
	})
	select {
	case <-started:
	case <-ctx.Done():
		wg.Wait()
		return <-errc
	}
	wg.Go(func() {
		errc <- serveGateway(ctx, cfg, p, p.DevRoutes())
		cancel()
	})
	wg.Go(func() {
		errc <- servePartnerEdge(ctx, cfg, p, dbURL, true)
		cancel()
	})
	if demo.on {
		ln, err := net.Listen("tcp", demo.addr)
		if err != nil {
			cancel()
			wg.Wait()
			return fmt.Errorf("-demo-addr %s: %w", demo.addr, err)
		}
		srv := &http.Server{Handler: p.DemoHandler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() { _ = srv.Serve(ln) })
		context.AfterFunc(ctx, func() { _ = srv.Close() })
	}
	printDevBanner(os.Stderr, cfg, dbURL, demo)
	wg.Wait()
	close(errc)
	var all []error
	for err := range errc {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// devDemo is dev's -demo: what it asked for, and where the finish control listens.
type devDemo struct {
	on   bool
	addr string
}

func (d *devDemo) registerFlags(fs *flag.FlagSet) {
	fs.BoolVar(&d.on, "demo", false, "demo an appointment's whole life in minutes: book 31m ahead, join at once, "+
		"and POST <demo-addr>/demo/appointments/{id}/finish to end a consultation now (dev only; serve refuses it)")
	fs.StringVar(&d.addr, "demo-addr", "127.0.0.1:7091", "where -demo's finish control listens (no authentication: keep it on loopback)")
}

// parseDev parses dev's flags. With -demo it parses them again over catalog.DemoFlags,
// so the demo's short windows hold unless the command line names them too, and turns
// on the finish control's early end (catalog.Config.EnableDemo).
func parseDev(args []string) (*catalog.Config, devDemo, error) {
	parse := func(preset map[string]string) (*catalog.Config, devDemo, error) {
		fs := flag.NewFlagSet("dev", flag.ContinueOnError)
		cfg := catalog.NewConfig(fs, true)
		var demo devDemo
		demo.registerFlags(fs)
		for name, value := range preset {
			if err := fs.Set(name, value); err != nil {
				return nil, demo, err
			}
		}
		return cfg, demo, cfg.Parse(fs, args)
	}
	cfg, demo, err := parse(nil)
	if err != nil || !demo.on {
		return cfg, demo, err
	}
	if cfg, demo, err = parse(catalog.DemoFlags); err != nil {
		return nil, demo, err
	}
	cfg.EnableDemo()
	return cfg, demo, nil
}

func printDevBanner(w io.Writer, cfg *catalog.Config, dbURL string, demo devDemo) {
	gw := "http://" + hostPort(cfg.GatewayListenAddr())
	var b strings.Builder
	fmt.Fprintf(&b, "\nHealthcore is running (Ctrl-C stops it).\n")
	fmt.Fprintf(&b, "  REST API   %s   (docs %s/docs, OpenAPI %s/openapi.json)\n", gw, gw, gw)
	for _, name := range catalog.Names() {
		fmt.Fprintf(&b, "  gRPC %-10s %s\n", name, hostPort(cfg.ListenAddr(name)))
	}
	plaintext := " -plaintext"
	if cfg.PartnerEdge.TLSCert != "" {
		plaintext = ""
	}
	fmt.Fprintf(&b, "  Partners   %s   (gRPC for partner clinics: go tool -modfile=tools/go.mod grpcurl%s -H \"authorization: Bearer $TOKEN\" %s list)\n",
		hostPort(cfg.PartnerEdgeListenAddr()), plaintext, hostPort(cfg.PartnerEdgeListenAddr()))
	if cfg.Reflection {
		fmt.Fprintf(&b, "  grpcurl    go tool -modfile=tools/go.mod grpcurl -plaintext %s list   (any service: dev serves reflection)\n",
			hostPort(cfg.ListenAddr("identity")))
	}
	if pixCfg := catalog.ServiceConfig[pix.Config](cfg); pixCfg.Driver.Value == pix.DriverSandbox {
		sb := "http://" + hostPort(pixCfg.SandboxAddr)
		fmt.Fprintf(&b, "  PIX sandbox %s   (pay a charge: curl -X POST %s/sandbox/payments/<providerPaymentId>/approve)\n", sb, sb)
	}
	if n := catalog.ServiceConfig[notifications.Config](cfg); n.Email.Value == notifications.EmailSink {
		fmt.Fprintf(&b, "  Mail       %s%s   (every e-mail sent; SMTP sink on %s)\n", gw, catalog.DevMailPath, hostPort(n.SinkAddr))
	}
	if n := catalog.ServiceConfig[notifications.Config](cfg); n.WhatsApp.Value == notifications.WhatsAppSandbox {
		fmt.Fprintf(&b, "  WhatsApp   http://%s/sandbox/messages   (the WhatsApp sandbox's sent messages)\n", hostPort(n.WhatsAppSandboxAddr))
	}
	if cfg.OpsAddr != "" {
		ops := "http://" + hostPort(cfg.OpsAddr)
		fmt.Fprintf(&b, "  Ops        %s/metrics", ops)
		if cfg.Pprof {
			fmt.Fprintf(&b, "   (profiler %s/debug/pprof/)", ops)
		}
		b.WriteString("\n")
	}
	if demo.on {
		fmt.Fprintf(&b, "  Demo       http://%s   (end a consultation now: curl -X POST http://%s/demo/appointments/<id>/finish)\n",
			hostPort(demo.addr), hostPort(demo.addr))
	}
	fmt.Fprintf(&b, "  PostgreSQL %s\n  Data       %s\n\n", pg.RedactURL(dbURL), cfg.DataDir)
	fmt.Fprint(w, b.String())
}

// startTelemetry starts the process's tracing and its ops listener; stop ends both,
// the ops listener first, then flushes the spans.
func startTelemetry(ctx context.Context, p *catalog.Process) (stop func(), err error) {
	stopTracing, err := p.StartTracing(ctx)
	if err != nil {
		return nil, err
	}
	stopOps, err := p.StartOps(ctx)
	if err != nil {
		stopTracing()
		return nil, err
	}
	return func() {
		stopOps()
		stopTracing()
	}, nil
}

// hostPort makes a listen address printable: ":8080" and "0.0.0.0:8080" become
// "127.0.0.1:8080".
func hostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// runServe runs the named services in this process, as a deployment does.
func runServe(ctx context.Context, args []string) error {
	var names []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if !catalog.Has(args[0]) {
			return fmt.Errorf("unknown service %q (services: %s)", args[0], serviceNames())
		}
		names, args = append(names, args[0]), args[1:]
	}
	if len(names) == 0 {
		return fmt.Errorf("name the services to serve (%s)", serviceNames())
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := catalog.NewConfig(fs, false)
	cfg.RegisterServeFlags(fs)
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	// Production fails closed: no driver nobody chose, no development driver unless
	// allowed, no proxy believed unless named.
	if err := cfg.CheckProduction(names); err != nil {
		return err
	}
	// Production serves TLS only, unless a mesh secures every connection. The services
	// prove who they are to each other by their certificates or, where a mesh ends TLS,
	// by service tokens signed with their own keys: then serve needs -service-keys.
	if err := cfg.OpenCredentials(names); err != nil {
		return err
	}
	var dbURL string
	if sch := catalog.Schemas(names); len(sch) > 0 {
		if cfg.DatabaseURL == "" {
			return errors.New("-database-url (DATABASE_URL) is required for " + strings.Join(names, ", "))
		}
		dbURL = cfg.DatabaseURL
		if err := pg.Migrate(ctx, dbURL, cfg.Logger(), sch...); err != nil {
			return err
		}
	}
	p := catalog.NewProcess(cfg, dbURL)
	defer p.Close()
	stop, err := startTelemetry(ctx, p)
	if err != nil {
		return err
	}
	defer stop()
	return p.Run(ctx, names, nil)
}

// runGateway runs the REST edge alone, dialing the services at their URLs.
func runGateway(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfg := catalog.NewConfig(fs, false)
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if err := cfg.CheckProduction(nil); err != nil { // -trusted-proxies named
		return err
	}
	// The edge dials the services over mTLS with its own certificate.
	if err := cfg.OpenTLS(true); err != nil {
		return err
	}
	// The process runs the edge alone: its collector's pace is the gateway's own.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(cfg.GatewayGCPercent)
	}
	p := catalog.NewProcess(cfg, "")
	stop, err := startTelemetry(ctx, p)
	if err != nil {
		return err
	}
	defer stop()
	return serveGateway(ctx, cfg, p, nil)
}

func serveGateway(ctx context.Context, cfg *catalog.Config, p *catalog.Process, dev map[string]http.Handler) error {
	var ups []gateway.Upstream
	for _, s := range catalog.Services() {
		if s.REST == nil {
			continue
		}
		u, err := url.Parse(*cfg.URL[s.Name])
		if err != nil || u.Host == "" {
			return fmt.Errorf("-%s.url=%q: not a URL", s.Name, *cfg.URL[s.Name])
		}
		ups = append(ups, gateway.Upstream{Service: s.FQName, Name: s.Name, Addr: u.Host, Register: s.REST})
	}
	public, err := cfg.GatewayTLS(p.Logger().With("service", "gateway"))
	if err != nil {
		return err
	}
	webhooks, closeWebhooks, err := webhookRoutes(cfg, p)
	if err != nil {
		return err
	}
	defer closeWebhooks()
	// dev's local pages (the mail inbox) join the edge in dev only: serve and gateway
	// pass none, so /dev/mail is a 404 there.
	for pattern, h := range dev {
		webhooks[pattern] = h
	}
	g, err := gateway.New(ctx, gateway.Options{
		Upstreams: ups, AllowedOrigins: cfg.AllowedOrigins(), MaxBodyBytes: cfg.MaxBodyBytes,
		Logger: p.Logger().With("service", "gateway"), OpenAPI: openapi.JSON, Registerer: p.Registry(),
		DrainDelay: cfg.DrainDelay, Extra: webhooks, TLS: public, ServiceTLS: cfg.TLS(), HSTS: cfg.GatewayHSTS,
		Tracer: p.Tracer("gateway"),
		Tokens: cfg.TokenProfile(), CacheEntries: cfg.GatewayCacheEntries, CacheBytes: cfg.GatewayCacheBytes,
		WebApp: web.Dist(), WebOrigins: cfg.WebAppOrigins(),
	})
	if err != nil {
		return err
	}
	// The upstreams, their addresses and errors are for operators: the public /readyz
	// only says ready or not.
	p.HandleOps("GET "+gateway.ReadyzOpsPath, g.UpstreamsHandler())
	ln, err := net.Listen("tcp", cfg.GatewayListenAddr())
	if err != nil {
		g.Close()
		return fmt.Errorf("gateway: %w", err)
	}
	return g.Serve(ctx, ln)
}

// webhookRoutes are the edge's hand-written routes: the provider webhooks (Mercado
// Pago's payment notifications to payments, WhatsApp's statuses to notifications) and
// the OAuth 2.0 token endpoint (to identity), each passed on over gRPC. The returned
// function closes the connections.
func webhookRoutes(cfg *catalog.Config, p *catalog.Process) (map[string]http.Handler, func(), error) {
	dial := func(service string) (*grpc.ClientConn, error) {
		u, err := url.Parse(*cfg.URL[service])
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("-%s.url=%q: not a URL", service, *cfg.URL[service])
		}
		conn, err := gateway.Dial(u.Host, service, cfg.TLS(), gateway.TraceDial(p.Tracer("gateway"))...)
		if err != nil {
			return nil, fmt.Errorf("gateway: dial %s: %w", service, err)
		}
		return conn, nil
	}
	payConn, err := dial("payments")
	if err != nil {
		return nil, nil, err
	}
	notifyConn, err := dial("notifications")
	if err != nil {
		_ = payConn.Close()
		return nil, nil, err
	}
	identityConn, err := dial("identity")
	if err != nil {
		_ = payConn.Close()
		_ = notifyConn.Close()
		return nil, nil, err
	}
	log := p.Logger().With("service", "gateway")
	wa := gateway.WhatsAppWebhook(notificationsv1.NewNotificationsServiceClient(notifyConn), log)
	return map[string]http.Handler{
			"POST " + gateway.MercadoPagoWebhookPath: gateway.MercadoPagoWebhook(paymentsv1.NewPaymentsServiceClient(payConn), log),
			"POST " + gateway.WhatsAppWebhookPath:    wa,
			"GET " + gateway.WhatsAppWebhookPath:     wa,
			"POST " + gateway.OAuthTokenPath:         gateway.OAuthToken(identityv1.NewIdentityServiceClient(identityConn), log),
		}, func() {
			_ = payConn.Close()
			_ = notifyConn.Close()
			_ = identityConn.Close()
		}, nil
}

// runMigrate applies the migrations of every service (or of those named by -services);
// with -print-grants it writes to out the SQL that gives each service a database role
// of its own, and touches no database.
func runMigrate(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cfg := catalog.NewConfig(fs, false)
	only := fs.String("services", "", "comma-separated services (and partner-edge) to migrate (default all)")
	printGrants := fs.Bool("print-grants", false,
		"print the SQL an administrator runs so that -owner owns every schema and runs the migrations, and each service reaches only its own schema through its role healthcore_<schema>; touch no database")
	owner := fs.String("owner", "", "with -print-grants: the role that owns the schemas and runs migrate, e.g. healthcore_owner")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	names := catalog.Names()
	// The partner edge owns a schema too (its call log): migrated with the services.
	edge := true
	if *only != "" {
		names, edge = nil, false
		for _, name := range catalog.SplitList(*only) {
			switch {
			case name == partneredge.Caller:
				edge = true
			case !catalog.Has(name):
				return fmt.Errorf("-services: unknown service %q (services: %s, %s)", name, serviceNames(), partneredge.Caller)
			default:
				names = append(names, name)
			}
		}
	}
	schemas := catalog.Schemas(names)
	if edge {
		schemas = append(schemas, partneredge.Schema)
	}
	if *printGrants {
		if *owner == "" {
			return errors.New("-owner is required with -print-grants: the role that owns the schemas and runs the migrations")
		}
		sql, err := pg.Grants(*owner, schemas)
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(out, sql)
		return err
	}
	if *owner != "" {
		return errors.New("-owner goes with -print-grants; migrate runs as the role its -database-url names")
	}
	if cfg.DatabaseURL == "" {
		return errors.New("-database-url (DATABASE_URL) is required")
	}
	if err := pg.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	return pg.Migrate(ctx, cfg.DatabaseURL, cfg.Logger(), schemas...)
}

// runKeysRotate adds a master key version to the local keys driver; data sealed under
// older versions still decrypts.
func runKeysRotate(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("keys-rotate", flag.ContinueOnError)
	cfg := catalog.NewConfig(fs, true)
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	l, err := keys.OpenLocal(filepath.Join(cfg.DataDir, "keys"))
	if err != nil {
		return err
	}
	v, err := l.Rotate()
	if err != nil {
		return err
	}
	fmt.Printf("local master key rotated: version %d is now used for new data\n", v)
	return nil
}

// runCreateAdmin creates a platform operator account. The password comes from
// HEALTHCORE_ADMIN_PASSWORD or, when unset, the first line of standard input, so it
// never appears in the process list or shell history.
func runCreateAdmin(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("create-admin", flag.ContinueOnError)
	cfg := catalog.NewConfig(fs, false)
	name := fs.String("name", "", "the operator's name")
	email := fs.String("email", "", "the operator's login e-mail")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("-database-url (DATABASE_URL) is required")
	}
	// The admin's creation is chained into identity's audit log under a secret sealed
	// by the keys service: the command calls keys as identity.
	if err := cfg.OpenCredentials([]string{"identity"}); err != nil {
		return err
	}
	password, ok := os.LookupEnv("HEALTHCORE_ADMIN_PASSWORD")
	if !ok {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("give the password in HEALTHCORE_ADMIN_PASSWORD or on standard input")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if err := pg.Migrate(ctx, cfg.DatabaseURL, cfg.Logger(), identity.Schema); err != nil {
		return err
	}
	db, err := pg.Open(ctx, cfg.DatabaseURL, identity.Schema.Name, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	p := catalog.NewProcess(cfg, cfg.DatabaseURL)
	defer p.Close()
	id, err := identity.CreateAdmin(ctx, db, *catalog.ServiceConfig[identity.Config](cfg), *name, *email, password, p.Envelope("identity"))
	if err != nil {
		return err
	}
	fmt.Printf("admin %s created (id %s)\n", *email, id)
	return nil
}

// auditLog is a log audit-verify checks: its owner, whose schema holds it and as whom
// its chain's secret is opened, and how it is verified.
type auditLog struct {
	owner  string
	schema string
	verify func(context.Context, *pgxpool.Pool, *envelope.Envelope) (auditchain.Report, error)
}

var auditLogs = []auditLog{
	{"identity", identity.Schema.Name, identity.VerifyAuditChain},
	{"records", records.Schema.Name, records.VerifyAccessChain},
}

// errChainBroken is audit-verify's answer when a chain is broken (its report says where).
var errChainBroken = errors.New("audit-verify: a chain is broken")

// runAuditVerify walks identity's audit log and records' access log end to end and
// writes each report to out; it fails when a chain is broken (a row changed or
// deleted), or when a log cannot be read.
func runAuditVerify(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("audit-verify", flag.ContinueOnError)
	cfg := catalog.NewConfig(fs, false)
	which := fs.String("log", "all",
		"the log to verify: identity (its audit log), records (its access log), partner-edge (its call log; needs -partner-edge.call-log-secret) or all (the partner edge's when its secret is given)")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	var logs []auditLog
	var owners []string
	for _, l := range auditLogs {
		if *which == "all" || *which == l.owner {
			logs, owners = append(logs, l), append(owners, l.owner)
		}
	}
	edge := *which == partneredge.Caller || (*which == "all" && cfg.PartnerEdge.CallLogSecret != "")
	if len(logs) == 0 && !edge {
		return fmt.Errorf("-log=%q: must be identity, records, %s or all", *which, partneredge.Caller)
	}
	if edge && cfg.PartnerEdge.CallLogSecret == "" {
		return errors.New("-partner-edge.call-log-secret is required: the partner call log's chain secret")
	}
	if cfg.DatabaseURL == "" {
		return errors.New("-database-url (DATABASE_URL) is required")
	}
	// Each chain's secret is sealed by the keys service for its owner: the command
	// calls keys as identity and as records. The partner edge's is a file.
	if len(owners) > 0 {
		if err := cfg.OpenCredentials(owners); err != nil {
			return err
		}
	}
	p := catalog.NewProcess(cfg, cfg.DatabaseURL)
	defer p.Close()
	broken := false
	report := func(rep auditchain.Report) {
		fmt.Fprintln(out, rep.String())
		broken = broken || !rep.OK()
	}
	for _, l := range logs {
		rep, err := verifyLog(ctx, cfg.DatabaseURL, l, p.Envelope(l.owner))
		if err != nil {
			return err
		}
		report(rep)
	}
	if edge {
		rep, err := verifyCallLog(ctx, cfg.DatabaseURL, cfg.PartnerEdge.CallLogSecret)
		if err != nil {
			return err
		}
		report(rep)
	}
	if broken {
		return errChainBroken
	}
	return nil
}

// verifyCallLog walks the partner edge's call log under the secret in file.
func verifyCallLog(ctx context.Context, dbURL, file string) (auditchain.Report, error) {
	secret, err := partneredge.ReadSecret(file, false)
	if err != nil {
		return auditchain.Report{}, fmt.Errorf("-partner-edge.call-log-secret: %w", err)
	}
	db, err := pg.Open(ctx, dbURL, partneredge.Schema.Name, 2)
	if err != nil {
		return auditchain.Report{}, err
	}
	defer db.Close()
	return partneredge.VerifyCallLog(ctx, db, secret)
}

func verifyLog(ctx context.Context, dbURL string, l auditLog, env *envelope.Envelope) (auditchain.Report, error) {
	db, err := pg.Open(ctx, dbURL, l.schema, 2)
	if err != nil {
		return auditchain.Report{}, err
	}
	defer db.Close()
	return l.verify(ctx, db, env)
}

// runPostgres finds or starts PostgreSQL exactly as dev does and prints its URL; make
// test uses it so the tests find the same server on a machine with no DATABASE_URL.
func runPostgres(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("postgres", flag.ContinueOnError)
	cfg := catalog.NewConfig(fs, true)
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	url := cfg.DatabaseURL
	if url == "" {
		var err error
		if url, err = pg.Locate(ctx, cfg.DataDir, cfg.Logger()); err != nil {
			return err
		}
	}
	fmt.Println(url)
	return nil
}
