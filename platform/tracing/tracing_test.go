package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTransport_ProviderSpansNameTheCallNotItsURL: a call inside a recorded span gets
// a client span with the method, host and status, and nothing of the path, query or
// headers (where tokens and payers' data travel); the provider is sent no traceparent;
// outside a recorded span nothing is recorded.
func TestTransport_ProviderSpansNameTheCallNotItsURL(t *testing.T) {
	var sawTraceparent bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawTraceparent = sawTraceparent || r.Header.Get("traceparent") != ""
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	client := &http.Client{Transport: Transport(tp, http.DefaultTransport, "mercadopago")}

	send := func(ctx context.Context) {
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/payments/52998224725?access_token=APP_USR-secret", nil)
		req.Header.Set("Authorization", "Bearer APP_USR-secret")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send(context.Background())
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans outside a recorded span, want 0", n)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "job")
	send(ctx)
	parent.End()

	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "mercadopago POST" || spans[0].SpanKind() != trace.SpanKindClient {
		t.Fatalf("spans %v, want one client span mercadopago POST, then the job", spans)
	}
	got := map[string]string{}
	for _, kv := range spans[0].Attributes() {
		got[string(kv.Key)] = kv.Value.String()
		if v := kv.Value.String(); strings.Contains(v, "secret") || strings.Contains(v, "52998224725") || strings.Contains(v, "/v1/") {
			t.Errorf("attribute %s = %q holds the URL's path, query or a header", kv.Key, v)
		}
	}
	if got["http.response.status_code"] != "201" || got["server.address"] != "127.0.0.1" || got["http.request.method"] != "POST" {
		t.Errorf("attributes %v, want status 201, host 127.0.0.1, method POST", got)
	}
	if sawTraceparent {
		t.Error("the provider was sent a traceparent")
	}
}

// TestSampler_KeepsJobsOfSampledRequests: a root span linked to a sampled span is kept
// even at ratio 0; one linked to an unsampled span follows the ratio.
func TestSampler_KeepsJobsOfSampledRequests(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(Sampler(0)))
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	link := func(flags trace.TraceFlags) trace.Link {
		return trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true})}
	}
	_, kept := tp.Tracer("t").Start(context.Background(), "river.work/sampled", trace.WithLinks(link(trace.FlagsSampled)))
	_, dropped := tp.Tracer("t").Start(context.Background(), "river.work/unsampled", trace.WithLinks(link(0)))
	_, root := tp.Tracer("t").Start(context.Background(), "request")
	if !kept.IsRecording() || dropped.IsRecording() || root.IsRecording() {
		t.Errorf("recording: linked to sampled %v, linked to unsampled %v, new root %v; want true, false, false at ratio 0",
			kept.IsRecording(), dropped.IsRecording(), root.IsRecording())
	}
}

func TestHTTPTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://collector:4318":                  "http://collector:4318/v1/traces",
		"https://collector:4318/":                "https://collector:4318/v1/traces",
		"http://collector:4318/custom/v1/traces": "http://collector:4318/custom/v1/traces",
	} {
		if got := httpTracesURL(in); got != want {
			t.Errorf("httpTracesURL(%q) = %q, want %q", in, got, want)
		}
	}
}
