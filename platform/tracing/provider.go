package tracing

import (
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// HTTPDoer sends one HTTP request: an http.Client, or the AWS SDK's HTTP client
// (aws.HTTPClient).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// Transport records a client span per request that next sends to the provider
// ("mercadopago", "chime") inside a recorded span: named "<provider> <METHOD>", with
// the method, host, port and status. Never the URL's path or query, headers or bodies,
// which carry credentials, signatures and the payer's data; nor the trace context
// itself, which a vendor has no use for and which would ride outside SigV4's signature.
func Transport(tp trace.TracerProvider, next http.RoundTripper, provider string) http.RoundTripper {
	return providerCalls{tracer: tp.Tracer("healthcore/platform/tracing"), provider: provider, rt: next}
}

// Doer is Transport for an HTTPDoer (the AWS SDK's clients of S3 and KMS).
func Doer(tp trace.TracerProvider, next HTTPDoer, provider string) HTTPDoer {
	return providerCalls{tracer: tp.Tracer("healthcore/platform/tracing"), provider: provider, doer: next}
}

type providerCalls struct {
	tracer   trace.Tracer
	provider string
	rt       http.RoundTripper
	doer     HTTPDoer
}

func (p providerCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	return p.call(r, p.rt.RoundTrip)
}
func (p providerCalls) Do(r *http.Request) (*http.Response, error) { return p.call(r, p.doer.Do) }

func (p providerCalls) call(r *http.Request, send func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	if !trace.SpanFromContext(r.Context()).IsRecording() {
		return send(r)
	}
	attrs := []attribute.KeyValue{attribute.String("http.request.method", r.Method),
		attribute.String("server.address", r.URL.Hostname()), attribute.String("peer.service", p.provider)}
	if port, err := strconv.Atoi(r.URL.Port()); err == nil {
		attrs = append(attrs, attribute.Int("server.port", port))
	}
	_, span := p.tracer.Start(r.Context(), p.provider+" "+r.Method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	resp, err := send(r)
	switch {
	case err != nil:
		// The error's text names the URL; the span says only that the call failed.
		span.SetStatus(codes.Error, "transport error")
	case resp.StatusCode >= 500:
		span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode))
	}
	if resp != nil {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	}
	return resp, err
}
