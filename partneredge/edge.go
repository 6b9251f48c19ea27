package partneredge

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/reflect/protoregistry"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/mtls"
	"healthcore/platform/server"
)

// Upstream is how the edge reaches a service: its base URL and the transport of the
// edge's calls to it (HTTP/2 over mTLS with the edge's own certificate, or h2c where a
// mesh secures the connection).
type Upstream struct {
	URL       string
	Transport http.RoundTripper
}

// Options configure an Edge.
type Options struct {
	// Upstreams are the services, by full name (healthcore.directory.v1.DirectoryService).
	// A partner method of a service not listed is not served.
	Upstreams map[string]Upstream
	// Verifier checks the partner clients' tokens (identity's JWKS and ended
	// sessions: a revoked client secret ends its tokens).
	Verifier *authn.Verifier
	Limits   Limits
	// CallLog receives every partner call; nil only in tests of the refusals.
	CallLog *CallLog
	// TLS is the public certificate; nil serves h2c and HTTP/1.1 (dev on loopback, or
	// behind a load balancer that terminates TLS).
	TLS    *mtls.Public
	Logger *slog.Logger
	// DrainDelay is how long the edge keeps serving, its health NOT_SERVING, after it
	// is told to stop.
	DrainDelay time.Duration
	// Registerer records the partner calls' metrics (nil: none are registered).
	Registerer prometheus.Registerer
	// Files are the contracts (nil: every contract linked into the binary).
	Files *protoregistry.Files
	Now   func() time.Time
}

// Edge is the partner edge's HTTP handler and server.
type Edge struct {
	opts     Options
	routes   map[string]*route
	services []string // the services partners see, by full name
	buckets  *buckets
	errw     *connect.ErrorWriter
	health   *grpchealth.StaticChecker
	handler  http.Handler
	metrics  *metrics
	audits   sync.WaitGroup
}

// route is a partner method and the proxy to its service.
type route struct {
	Method
	proxy *httputil.ReverseProxy
}

// New builds the edge: the partner methods from the contracts' access rules, one
// reverse proxy per service, reflection and health describing the partner methods only.
func New(opts Options) (*Edge, error) {
	if err := opts.Limits.Check(); err != nil {
		return nil, fmt.Errorf("partner edge: %w", err)
	}
	if opts.Verifier == nil {
		return nil, errors.New("partner edge: a token verifier is required")
	}
	if opts.Files == nil {
		opts.Files = protoregistry.GlobalFiles
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Edge{opts: opts, routes: map[string]*route{}, buckets: newBuckets(opts.Limits), errw: connect.NewErrorWriter(),
		metrics: newMetrics(opts.Registerer)}
	proxies := map[string]*httputil.ReverseProxy{}
	for proc, m := range PartnerMethods(opts.Files) {
		up, ok := opts.Upstreams[m.Service]
		if !ok {
			continue
		}
		p, ok := proxies[m.Service]
		if !ok {
			target, err := url.Parse(up.URL)
			if err != nil || target.Host == "" {
				return nil, fmt.Errorf("partner edge: %s: %q is not a URL", m.Service, up.URL)
			}
			p = e.newProxy(target, up.Transport)
			proxies[m.Service] = p
		}
		e.routes[proc] = &route{Method: m, proxy: p}
	}
	files, services, err := partnerFiles(opts.Files)
	if err != nil {
		return nil, err
	}
	e.services = slices.DeleteFunc(services, func(s string) bool { _, ok := proxies[s]; return !ok })
	e.health = grpchealth.NewStaticChecker(e.services...)

	mux := http.NewServeMux()
	reflector := grpcreflect.NewReflector(grpcreflect.NamerFunc(func() []string { return e.services }),
		grpcreflect.WithDescriptorResolver(files))
	// Reflection too needs a partner's token: the API is described to its clients.
	path, h := grpcreflect.NewHandlerV1(reflector)
	mux.Handle(path, e.partnerOnly(h))
	path, h = grpcreflect.NewHandlerV1Alpha(reflector)
	mux.Handle(path, e.partnerOnly(h))
	path, h = grpchealth.NewHandler(e.health)
	mux.Handle(path, h)
	mux.HandleFunc("/", e.serveCall)
	e.handler = mux
	return e, nil
}

// Handler returns the edge's HTTP handler.
func (e *Edge) Handler() http.Handler { return e.handler }

// Procedures lists the methods the edge forwards, sorted.
func (e *Edge) Procedures() []string { return slices.Sorted(maps.Keys(e.routes)) }

// Services lists the services partners see (reflection, health), sorted.
func (e *Edge) Services() []string { return slices.Clone(e.services) }

func (e *Edge) newProxy(target *url.URL, transport http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: transport,
		// Streams go on as they come: a server stream's messages are not held back.
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(e.opts.Logger.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				e.refuse(w, r, ReasonRequestTooLarge.New(fmt.Sprintf("the request is larger than %d bytes", e.opts.Limits.MaxBodyBytes)))
				return
			}
			if r.Context().Err() != nil {
				e.refuse(w, r, r.Context().Err())
				return
			}
			e.opts.Logger.WarnContext(r.Context(), "partner edge: service unreachable", "host", target.Host, "error", err.Error())
			e.refuse(w, r, ReasonServiceUnavailable.New("the service is unavailable: try again shortly"))
		},
	}
}

var (
	errNotPartnerMethod = ReasonNotPartnerMethod.New("this method is not part of the partner API")
	errPartnerOnly      = ReasonPartnerTokenRequired.New("the partner API needs a partner client's token (POST /oauth/token)")
)

// authenticate returns the partner client the request's token names.
func (e *Edge) authenticate(r *http.Request) (authn.Principal, error) {
	token, ok := authn.BearerToken(r.Header.Get("Authorization"))
	if !ok {
		return authn.Principal{}, authn.ErrTokenMissing
	}
	p, err := e.opts.Verifier.Verify(r.Context(), token)
	if err != nil {
		return p, err
	}
	if p.Role != accessv1.Role_ROLE_PARTNER {
		return p, errPartnerOnly
	}
	return p, nil
}

// partnerOnly lets a request through to h only with a partner client's valid token.
func (e *Edge) partnerOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.authenticate(r); err != nil {
			e.refuse(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serveCall forwards a partner method's call, in order: the method must admit
// partners (before anything else, so nothing else is reachable whatever the token),
// the token must be a partner client's holding one of its scopes, the client's bucket
// for that scope must have a token, the body must fit; then its deadline is bounded
// and it goes to the service, which checks the token and the clinic's rights again.
// Every call of a partner client is audited, those refused here included.
func (e *Edge) serveCall(w http.ResponseWriter, r *http.Request) {
	start := e.opts.Now()
	rt, known := e.routes[r.URL.Path]
	p, authErr := e.authenticate(r)
	if !known && authErr != nil {
		e.refuse(w, r, errNotPartnerMethod) // not a partner's call: no one to audit
		return
	}
	if authErr != nil {
		e.refuse(w, r, authErr)
		return
	}
	call := Call{At: start.Truncate(time.Microsecond), ClientID: p.ClientID, ClinicID: p.ClinicID, SecretID: p.SessionID,
		Method: r.URL.Path, ClientAddr: clientAddr(r)}
	if len(call.Method) > 200 {
		call.Method = call.Method[:200]
	}
	rec := newRecorder(w, protocolOf(r))
	defer func() {
		call.Code, call.RequestID = rec.code(), w.Header().Get(server.RequestIDHeader)
		call.Duration = e.opts.Now().Sub(start)
		e.metrics.observe(call, known)
		e.audit(r.Context(), call)
	}()
	if !known {
		e.refuse(rec, r, errNotPartnerMethod)
		return
	}
	if err := authn.PartnerAllowed(rt.Rule, p, rt.Procedure); err != nil {
		e.refuse(rec, r, err)
		return
	}
	call.Scope = admittingScope(rt.Rule, p)
	if ok, retry := e.buckets.take(p.ClientID+" "+call.Scope, start); !ok {
		e.refuse(rec, r, ReasonRateLimited.New(fmt.Sprintf("the client's rate for %s is used up: retry after the delay given", call.Scope)).
			WithRetryAfter(retry))
		return
	}
	if err := e.limitBody(w, r, rt); err != nil {
		e.refuse(rec, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), boundDeadline(r, e.opts.Limits))
	defer cancel()
	rt.proxy.ServeHTTP(rec, r.WithContext(ctx))
}

// limitBody refuses a body over the limit. A unary call's body is read here, whole,
// so an oversize one is refused before the service hears of it; a stream's is cut
// where it passes the limit.
func (e *Edge) limitBody(w http.ResponseWriter, r *http.Request, rt *route) error {
	limit := e.opts.Limits.MaxBodyBytes
	tooLarge := ReasonRequestTooLarge.New(fmt.Sprintf("the request is larger than %d bytes", limit))
	if r.ContentLength > limit {
		return tooLarge
	}
	if rt.Desc.IsStreamingClient() {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return err
	}
	if int64(len(body)) > limit {
		return tooLarge
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return nil
}

// admittingScope is the first of the method's scopes the client holds: the bucket its
// call is counted in.
func admittingScope(rule *accessv1.Rule, p authn.Principal) string {
	for _, s := range rule.GetPartner().GetScopes() {
		if slices.Contains(p.Scopes, s) {
			return s
		}
	}
	return ""
}

// refuse answers err in the request's protocol (gRPC, gRPC-Web or Connect); a request
// that speaks none of them gets a plain 404.
func (e *Edge) refuse(w http.ResponseWriter, r *http.Request, err error) {
	ce, cause := errs.ToConnect(err)
	// UNIMPLEMENTED counts as a server fault, but a method partners may not call is
	// the caller's doing.
	if cause != nil && !errs.Has(err, ReasonNotPartnerMethod) {
		e.opts.Logger.ErrorContext(r.Context(), "partner edge", "error", cause.Error())
	}
	if !e.errw.IsSupported(r) {
		http.Error(w, ce.Message(), http.StatusNotFound)
		return
	}
	_ = e.errw.Write(w, r, ce)
}

// audit writes the call to the call log, after the answer: its code and duration are
// known then, and the client does not wait for the write.
func (e *Edge) audit(ctx context.Context, c Call) {
	e.opts.Logger.InfoContext(ctx, "partner call", "method", c.Method, "client_id", c.ClientID, "clinic_id", c.ClinicID,
		"scope", c.Scope, "code", c.Code, "duration_ms", float64(c.Duration.Microseconds())/1000)
	if e.opts.CallLog == nil {
		return
	}
	e.audits.Go(func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := e.opts.CallLog.Append(actx, c); err != nil {
			e.opts.Logger.ErrorContext(ctx, "partner edge: call not audited", "method", c.Method, "client_id", c.ClientID, "error", err.Error())
		}
	})
}

// Flush waits until the calls answered so far are in the call log.
func (e *Edge) Flush() { e.audits.Wait() }

// Serve answers on ln until ctx ends, then reports NOT_SERVING for DrainDelay, shuts
// down, and waits for the call log's last rows.
func (e *Edge) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           e.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(e.opts.Logger.Handler(), slog.LevelWarn),
		Protocols:         new(http.Protocols),
	}
	hs.Protocols.SetHTTP1(true)
	if e.opts.TLS != nil {
		hs.Protocols.SetHTTP2(true)
		ln = tls.NewListener(ln, e.opts.TLS.ServerTLS())
	} else {
		hs.Protocols.SetUnencryptedHTTP2(true)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	e.opts.Logger.Info("partner edge serving", "addr", ln.Addr().String(), "tls", e.opts.TLS != nil, "methods", len(e.routes))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	for _, s := range e.services {
		e.health.SetStatus(s, grpchealth.StatusNotServing)
	}
	e.health.SetStatus("", grpchealth.StatusNotServing)
	time.Sleep(e.opts.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serveErr := <-errc; err == nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = serveErr
	}
	e.Flush()
	if e.opts.CallLog != nil {
		err = errors.Join(err, e.opts.CallLog.Close(sctx))
	}
	return err
}

// clientAddr is the partner's address: the peer of the connection (the edge is the
// public listener; a load balancer in front passes connections, not requests).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
