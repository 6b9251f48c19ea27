package server

import (
	"context"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"go.opentelemetry.io/otel/trace"

	"healthcore/platform/tracing"
)

// Tracing returns the interceptor that records a span per call with tp, for servers
// (Options.Tracer) and for the clients by which one service calls another: a server
// span continues the trace its caller sent (W3C traceparent), a client span sends it.
//
// Spans hold the RPC's service, method, status and the server's address, and the
// request id (X-Request-Id) — never messages, other headers or the peer's address:
// requests carry CPFs, names and health data. Metrics stay with Prometheus
// (Metrics); the interceptor records none.
func Tracing(tp trace.TracerProvider) connect.Interceptor {
	i, err := otelconnect.NewInterceptor(
		otelconnect.WithTracerProvider(tp),
		otelconnect.WithPropagator(tracing.Propagator),
		otelconnect.WithoutMetrics(),
		// Our callers are our own services and the gateway (mTLS or service tokens), and
		// partners' calls are authenticated: their trace is continued, not only linked,
		// so a booking reads as one trace from the edge to the provider.
		otelconnect.WithTrustRemote(),
		otelconnect.WithTraceRequestHeader(RequestIDHeader),
		// A client call starts no trace of its own (a background refresh of keys or
		// ended sessions would start one every few seconds): it is traced inside a
		// request's or a job's span. Health checks would drown the traces.
		otelconnect.WithFilter(func(ctx context.Context, spec connect.Spec) bool {
			if spec.IsClient && !trace.SpanContextFromContext(ctx).IsValid() {
				return false
			}
			return !strings.HasPrefix(spec.Procedure, "/grpc.health.v1.")
		}),
	)
	if err != nil {
		panic("server: otelconnect: " + err.Error()) // only for invalid options, fixed above
	}
	return i
}
