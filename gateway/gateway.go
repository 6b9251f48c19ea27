package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	"healthcore/gateway/docs"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/authn"
	"healthcore/platform/mtls"
)

// Upstream is one service behind the gateway.
type Upstream struct {
	// Service is the fully-qualified gRPC service name, checked by /readyz.
	Service string
	// Name is the service's name in the catalog ("identity"): the one its certificate
	// must carry when the gateway dials over mTLS.
	Name string
	// Addr is the service's host:port.
	Addr string
	// Register is the generated Register…Handler function of the service.
	Register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
}

// Options configures the gateway.
type Options struct {
	Upstreams      []Upstream
	AllowedOrigins []string
	MaxBodyBytes   int64
	Logger         *slog.Logger
	// OpenAPI is the merged OpenAPI (Swagger 2.0) document served at /openapi.json,
	// completed with the hand-written routes; /openapi.v3.json serves it as OpenAPI 3.0.
	OpenAPI []byte
	// Registerer records the HTTP metrics (the process's ops listener serves them,
	// never the public port); nil records none.
	Registerer prometheus.Registerer
	// DrainDelay keeps answering (with /readyz failing) before the listener closes.
	DrainDelay time.Duration
	// Extra mounts more routes on the edge (e.g. provider webhooks).
	Extra map[string]http.Handler
	// HSTS sends Strict-Transport-Security on every answer; set it when clients reach
	// the edge over TLS only (a load balancer terminating TLS). It is on whenever TLS is.
	HSTS bool
	// TLS, when set, makes the public listener answer HTTPS only, with this
	// certificate (no client certificates asked).
	TLS *mtls.Public
	// ServiceTLS, when set, is the gateway's own service certificate: the upstreams are
	// dialed over mTLS, each known by its Name. Nil dials them over h2c.
	ServiceTLS *mtls.Source
	// Tracer records the edge's spans and sends the trace to the services (nil: no
	// tracing): the gateway's TracerProvider.
	Tracer trace.TracerProvider
	// Tokens is the access tokens' profile. When its issuer is an http(s) URL, the
	// edge serves the issuer's OpenID Connect discovery document at
	// /.well-known/openid-configuration, pointing at the JWKS route.
	Tokens authn.TokenProfile
	// UploadMaxBytes caps a record file upload's body at the edge (413 beyond; the
	// records service enforces its own, smaller limit). Zero means 64 MiB. The upload
	// route streams and is not subject to MaxBodyBytes.
	UploadMaxBytes int64
	// CacheEntries bounds how many public reads' versions (ETag and freshness, by
	// path and query) the edge remembers to answer If-None-Match without calling the
	// service; zero means DefaultCacheEntries.
	CacheEntries int
	// CacheBytes is how many bytes of public reads' answers the edge keeps, to answer
	// them while fresh without calling the service, as a CDN in front would; zero keeps
	// none (versions only).
	CacheBytes int64
	// WebApp is the built web app (index.html at its root), served at / for every
	// GET that is not the API's; nil serves none.
	WebApp fs.FS
	// WebOrigins are the origins whose pages may use the web session (the refresh
	// cookie); empty means the edge's own origin only.
	WebOrigins []string
}

// Gateway is the REST edge.
type Gateway struct {
	opts     Options
	conns    []*grpc.ClientConn
	mux      *runtime.ServeMux
	records  recordsv1.RecordsServiceClient   // nil without a records upstream
	identity identityv1.IdentityServiceClient // nil without an identity upstream
	handler  http.Handler
	routes   []Route
	split    []splitRoute // routes, split for matching
	draining atomic.Bool
	cache    *httpCache
}

// New dials every upstream (lazily: a service that is not up yet is retried by gRPC)
// and builds the handler.
func New(ctx context.Context, opts Options) (*Gateway, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.UploadMaxBytes == 0 {
		opts.UploadMaxBytes = defaultUploadMaxBytes
	}
	opts.HSTS = opts.HSTS || opts.TLS != nil
	spec, err := openAPI(opts.OpenAPI)
	if err != nil {
		return nil, err
	}
	spec3, err := openAPIv3(spec)
	if err != nil {
		return nil, err
	}
	g := &Gateway{opts: opts}
	var services []string
	for _, u := range opts.Upstreams {
		services = append(services, u.Service)
	}
	routes, err := queryRoutes(services)
	if err != nil {
		return nil, err
	}
	cacheable, err := cacheRoutes(services)
	if err != nil {
		return nil, err
	}
	if g.cache, err = newHTTPCache(cacheable, opts.CacheEntries, opts.CacheBytes, opts.Registerer); err != nil {
		return nil, err
	}
	useQueryParser()
	var mux *runtime.ServeMux
	mux = runtime.NewServeMux(
		runtime.WithMiddlewares(checkQuery(routes, &mux), routeName, g.cache.middleware),
		runtime.WithIncomingHeaderMatcher(headerMatcher),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithErrorHandler(g.errorHandler),
		runtime.WithForwardResponseOption(httpStatus),
		runtime.WithRoutingErrorHandler(g.routingErrorHandler),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &jsonMarshaler{JSONPb: &runtime.JSONPb{
			MarshalOptions:   answerJSON,
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}}),
	)
	for _, u := range opts.Upstreams {
		conn, err := Dial(u.Addr, u.Name, opts.ServiceTLS, append(TraceDial(opts.Tracer), answerCodecOption())...)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("dial %s at %s: %w", u.Service, u.Addr, err)
		}
		g.conns = append(g.conns, conn)
		switch u.Service {
		case recordsv1.RecordsService_ServiceDesc.ServiceName:
			g.records = recordsv1.NewRecordsServiceClient(conn)
		case identityv1.IdentityService_ServiceDesc.ServiceName:
			g.identity = identityv1.NewIdentityServiceClient(conn)
		}
		if err := u.Register(ctx, mux, conn); err != nil {
			g.Close()
			return nil, fmt.Errorf("register %s: %w", u.Service, err)
		}
		g.routes = append(g.routes, serviceRoutes(u.Service)...)
	}
	if g.records != nil {
		g.routes = append(g.routes,
			Route{Method: http.MethodPost, Path: uploadPath, API: true},
			Route{Method: http.MethodGet, Path: documentPrefix + "{document_id}" + downloadSuffix, API: true})
	}
	if g.identity != nil {
		g.routes = append(g.routes, Route{Method: http.MethodGet, Path: exportPrefix + "{export_id}" + downloadSuffix, API: true})
	}

	g.mux = mux

	root := http.NewServeMux()
	root.Handle("/", webApp(opts.WebApp, mux))
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	root.HandleFunc("GET /readyz", g.ready)
	for path, doc := range map[string][]byte{"/openapi.json": spec, "/openapi.v3.json": spec3} {
		root.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		})
	}
	edgeOwn := []string{"GET /healthz", "GET /readyz", "GET /openapi.json", "GET /openapi.v3.json", "GET " + docs.Prefix, "GET " + docs.Prefix + "/**"}
	if h, ok := discoveryHandler(opts.Tokens); ok {
		root.Handle("GET "+authn.DiscoveryPath, h)
		edgeOwn = append(edgeOwn, "GET "+authn.DiscoveryPath)
	}
	d := docs.Handler("/openapi.json")
	root.Handle(docs.Prefix, d)
	root.Handle(docs.Prefix+"/", d)
	for pattern, h := range opts.Extra {
		root.Handle(pattern, h)
		if rt, ok := muxRoute(pattern, true); ok {
			g.routes = append(g.routes, rt)
		}
	}
	for _, p := range edgeOwn {
		rt, _ := muxRoute(p, false)
		g.routes = append(g.routes, rt)
	}
	g.split = splitRoutes(g.routes)
	// Outermost first: request id (so every later log and error carries it), the
	// trace's span (so the access log line and every error carry its id), access
	// log and metrics, the security headers (on every answer, preflights and errors
	// included), CORS (answers preflights before anything else runs), the header size
	// and method checks (405 before any body is read), then the body limit right before
	// the routes.
	// The record file routes and the data export download stream their bodies, so they
	// sit outside the body limit.
	var h http.Handler = trackBody(root)
	h = webSession(h, opts.WebOrigins)
	h = refusePartnerTokens(h)
	h = limitBody(h, opts.MaxBodyBytes)
	h = g.recordFiles(h)
	h = g.exportFiles(h)
	h = g.checkRoute(h)
	h = cors(h, opts.AllowedOrigins)
	h = securityHeaders(h, opts.HSTS)
	h = accessLog(h, opts.Logger, newHTTPMetrics(opts.Registerer))
	if opts.Tracer != nil {
		h = traced(h, opts.Tracer)
	}
	g.handler = withRequestID(h)
	return g, nil
}

// answerJSON is how the edge writes answers, the JSON conventions a client relies on
// (the README's "JSON conventions"): field names in lowerCamelCase; 64-bit integers as
// strings ("25000"; requests may send a number or a string); enums by name; every list
// and every field that has no presence of its own emitted even when empty or zero
// ([], "", 0, false), so an answer's shape does not depend on its values; a message or
// an optional field that is not set is left out.
var answerJSON = protojson.MarshalOptions{EmitDefaultValues: true}

// Dial connects lazily to the service name at addr: over mTLS with src (the server
// must prove it is name), or h2c when src is nil; opts add to that (TraceDial).
func Dial(addr, name string, src *mtls.Source, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if src != nil {
		if name == "" {
			return nil, fmt.Errorf("dial %s over mTLS: the service's name is needed to check its certificate", addr)
		}
		creds = credentials.NewTLS(src.ClientTLS(name))
	}
	return grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(creds)}, opts...)...)
}

// Handler returns the edge's HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Serve answers on ln until ctx ends, then fails /readyz for DrainDelay and shuts down.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.opts.Logger.Handler(), slog.LevelWarn),
	}
	if g.opts.TLS != nil {
		ln = tls.NewListener(ln, g.opts.TLS.ServerTLS())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	g.opts.Logger.Info("gateway serving", "addr", ln.Addr().String(), "tls", g.opts.TLS != nil)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	g.draining.Store(true)
	time.Sleep(g.opts.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serveErr := <-errc; err == nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = serveErr
	}
	g.Close()
	return err
}

// Close closes the upstream connections.
func (g *Gateway) Close() {
	for _, c := range g.conns {
		_ = c.Close()
	}
}
