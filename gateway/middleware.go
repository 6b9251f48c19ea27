package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"healthcore/platform/logging"
	"healthcore/platform/server"
)

// withRequestID keeps a well-formed X-Request-Id from the client or makes one, passes it
// upstream (the header matcher forwards it as gRPC metadata) and returns it.
// A replaced id is kept in the context: a provider webhook's signature covers it.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := r.Header.Get(server.RequestIDHeader)
		if !server.ValidRequestID(id) {
			ctx = context.WithValue(ctx, sentRequestIDKey{}, id)
			id = server.NewRequestID()
			r.Header.Set(server.RequestIDHeader, id)
		}
		w.Header().Set(server.RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(logging.WithRequestID(ctx, id)))
	})
}

type sentRequestIDKey struct{}

// providerRequestID is the X-Request-Id header as the client sent it (maybe empty),
// even when withRequestID replaced it.
func providerRequestID(r *http.Request) string {
	if id, ok := r.Context().Value(sentRequestIDKey{}).(string); ok {
		return id
	}
	return r.Header.Get(server.RequestIDHeader)
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type httpMetrics struct{ duration *prometheus.HistogramVec }

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	if reg == nil {
		return nil
	}
	m := &httpMetrics{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "healthcore_http_duration_seconds",
		Help:    "Time to answer a REST request at the edge, by method and status.",
		Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "status"})}
	reg.MustRegister(m.duration)
	return m
}

// accessLog writes one line per request (never the query string or body, which may
// hold personal data) and records its duration. A response the handler aborted (a
// download whose stream failed midway) is logged too, at WARN with aborted=true.
func accessLog(next http.Handler, log *slog.Logger, m *httpMetrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		finished := false
		defer func() {
			d := time.Since(start)
			if m != nil {
				m.duration.WithLabelValues(r.Method, strconv.Itoa(rec.status)).Observe(d.Seconds())
			}
			level := slog.LevelInfo
			attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rec.status),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("remote", r.RemoteAddr)}
			if !finished { // the handler panicked, http.ErrAbortHandler or worse
				level = slog.LevelWarn
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			if rec.status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(r.Context(), level, "http", attrs...)
		}()
		next.ServeHTTP(rec, r)
		finished = true
	})
}

// The edge's CORS policy: the headers a browser client may send and read, the methods
// a preflight allows and how long a browser may keep its answer (seconds). An API
// Gateway answering preflights in front of the edge states the same
// (deploy/aws/apigateway).
const (
	CORSAllowHeaders  = "Authorization, Content-Type, X-Request-Id, Idempotency-Key, If-None-Match"
	CORSExposeHeaders = "X-Request-Id, Retry-After, Content-Disposition, ETag"
	CORSAllowMethods  = "GET, POST, PUT, PATCH, DELETE"
	CORSMaxAge        = 600
)

// cors lets the configured origins call the API from a browser. A preflight from an
// origin not on the list gets no CORS headers, so the browser refuses the call.
func cors(next http.Handler, origins []string) http.Handler {
	any := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && (any || slices.Contains(origins, origin))
		if origin != "" {
			w.Header().Add("Vary", "Origin")
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", CORSExposeHeaders)
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				w.Header().Set("Access-Control-Allow-Methods", CORSAllowMethods)
				w.Header().Set("Access-Control-Allow-Headers", CORSAllowHeaders)
				w.Header().Set("Access-Control-Max-Age", strconv.Itoa(CORSMaxAge))
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies over max bytes with 413. Content-Length says so at once; a
// body of unknown length (chunked) is read up to the limit before the route runs, so
// one that runs over is refused whole, instead of reaching the service when its JSON
// happens to end before the limit (the decoder stops there and never sees the rest).
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			bodyTooLarge(w, r, max)
			return
		}
		if r.ContentLength >= 0 {
			// The server never reads past Content-Length; the limiter is a second fence.
			r.Body = http.MaxBytesReader(w, r.Body, max)
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if _, over := errors.AsType[*http.MaxBytesError](err); over {
			bodyTooLarge(w, r, max)
			return
		}
		if err != nil {
			writeStatus(w, r, http.StatusBadRequest, reasonStatus(ReasonMalformedJSON, "the request body could not be read whole"))
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// headerMatcher forwards the request id to the services, besides grpc-gateway's
// defaults (Authorization among them).
func headerMatcher(key string) (string, bool) {
	if strings.EqualFold(key, server.RequestIDHeader) {
		return strings.ToLower(key), true
	}
	return runtimeDefaultHeaderMatcher(key)
}

// apiContentSecurityPolicy fits answers that are JSON, never a page: nothing may load,
// and no page may frame them. The docs handler replaces it with the policy its page needs.
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// hstsValue asks browsers to use HTTPS only for a year, subdomains included.
const hstsValue = "max-age=31536000; includeSubDomains"

// securityHeaders sets the headers a JSON API should send on every answer, among them
// Cache-Control: no-store, so no shared or browser cache keeps personal data (a
// profile, a payment, a record's metadata, the tokens a login returns) after the
// session; the API docs replace it with their own caching. hsts adds
// Strict-Transport-Security: set it when clients reach the edge over TLS only (the
// gateway's own TLS, or a load balancer that redirects HTTP).
func securityHeaders(next http.Handler, hsts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", apiContentSecurityPolicy)
		h.Set("Cross-Origin-Resource-Policy", "same-site")
		if hsts {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
