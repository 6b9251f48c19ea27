package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"healthcore/platform/tracing"
)

// TraceIDHeader names the trace of a request in every answer of the edge (when tracing
// is on): the id an operator looks up in the trace viewer, also in every error body as
// traceId. traceresponse (W3C Trace Context Level 2) says the same in traceparent form.
const TraceIDHeader = "Trace-Id"

// traced starts the edge's server span of each request, continuing the client's trace
// when it sends a W3C traceparent, and names the trace in the answer's headers. The
// span holds the method, the route template (set by routeName once grpc-gateway has
// matched it), the scheme and the status — never the path's values, the query or the
// body, which can hold personal data.
func traced(next http.Handler, tp trace.TracerProvider) http.Handler {
	tracer := tp.Tracer("healthcore/gateway")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" { // probes, several a second
			next.ServeHTTP(w, r)
			return
		}
		ctx := tracing.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method), attribute.String("url.scheme", scheme)))
		defer span.End()
		if sc := span.SpanContext(); sc.IsValid() {
			w.Header().Set(TraceIDHeader, sc.TraceID().String())
			w.Header().Set("traceresponse", "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-"+sc.TraceFlags().String())
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
		if rec.status >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(rec.status))
		}
	})
}

// routeName names the request's span after the route grpc-gateway matched
// ("POST /v1/appointments"), a grpc-gateway middleware: only there is the template known.
func routeName(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			// The path template (HTTPPathPattern is set only later, inside the handler).
			if pattern, ok := runtime.HTTPPattern(r.Context()); ok {
				span.SetName(r.Method + " " + pattern.String())
				span.SetAttributes(attribute.String("http.route", pattern.String()))
			}
		}
		next(w, r, params)
	}
}

// TraceDial is the dial option by which the edge's calls to the services send the
// trace (traceparent metadata) and record client spans with tp; nil when tp is nil.
// A call made outside a request (readiness checks) is not traced.
func TraceDial(tp trace.TracerProvider) []grpc.DialOption {
	if tp == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(tracing.Propagator),
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool { return info.FullMethodName != "/grpc.health.v1.Health/Check" }),
	))}
}

// traceID is the trace of the request, for error bodies ("" without tracing).
func traceID(ctx context.Context) string { return tracing.TraceID(ctx) }
