package tracing

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"healthcore/platform/config"
)

// Exporters, the values of -otel-exporter.
const (
	ExporterNone     = "none"
	ExporterOTLPGRPC = "otlp-grpc"
	ExporterOTLPHTTP = "otlp-http"
	ExporterStdout   = "stdout"
	ExporterFile     = "file"
)

// FileName is where the file exporter writes, inside the data folder.
const FileName = "traces.jsonl"

// Config is the process's tracing, from the -otel-* flags.
type Config struct {
	Exporter config.Choice
	// Endpoint is the collector's URL (http://collector:4317 for gRPC,
	// http://collector:4318 for HTTP); empty leaves it to OTEL_EXPORTER_OTLP_ENDPOINT
	// or the SDK's default (localhost).
	Endpoint string
	// SampleRatio is the share of new traces kept; a call that arrives with a trace
	// context follows its caller's decision (parent-based).
	SampleRatio float64
}

// RegisterFlags registers -otel-exporter, -otel-endpoint and -otel-sample-ratio. dev
// writes every trace to the data folder; elsewhere tracing is off until a collector is
// named.
func (c *Config) RegisterFlags(fs *flag.FlagSet, dev bool) {
	c.Exporter = config.Choice{Value: ExporterNone, Allowed: []string{ExporterNone, ExporterOTLPGRPC, ExporterOTLPHTTP, ExporterStdout, ExporterFile}}
	c.SampleRatio = 0.1
	if dev {
		c.Exporter.Value, c.SampleRatio = ExporterFile, 1
	}
	fs.Var(&c.Exporter, "otel-exporter",
		"where spans go: none, otlp-grpc or otlp-http (a collector, -otel-endpoint), stdout, or file (JSON lines in <data-dir>/"+FileName+")")
	fs.StringVar(&c.Endpoint, "otel-endpoint", "",
		"the OTLP collector's URL, e.g. http://otel-collector:4317 (empty: OTEL_EXPORTER_OTLP_ENDPOINT, else localhost)")
	fs.Float64Var(&c.SampleRatio, "otel-sample-ratio", c.SampleRatio,
		"share of new traces recorded, 0 to 1; a call that carries a trace context follows its caller's choice")
}

// Check reports bad values.
func (c Config) Check(p *config.Problems) {
	p.Check(c.SampleRatio >= 0 && c.SampleRatio <= 1, "-otel-sample-ratio=%g: must be between 0 and 1", c.SampleRatio)
}

// httpTracesURL is the OTLP/HTTP URL of traces for endpoint: a base URL
// (http://collector:4318) gets the signal's path, as OTEL_EXPORTER_OTLP_ENDPOINT does;
// a URL with a path is taken as it is.
func httpTracesURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return endpoint
	}
	u.Path = "/v1/traces"
	return u.String()
}

// Propagator is how trace context travels between processes: W3C traceparent and
// tracestate only. Baggage is not propagated: it would carry whatever a caller put in
// it, personal data included, into every service's context.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Sampler keeps ratio of the new traces, and follows the decision already made for
// the rest: a span with a parent is kept when its parent was; a span with no parent but
// links (a River job's, linked to the request that enqueued it) is kept when a linked
// span was, so a sampled booking keeps every step of its saga.
func Sampler(ratio float64) sdktrace.Sampler {
	return sdktrace.ParentBased(linked{sdktrace.TraceIDRatioBased(ratio)})
}

// linked samples a root span that links to a sampled span, and leaves the others to
// ratio.
type linked struct{ ratio sdktrace.Sampler }

func (l linked) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	for _, link := range p.Links {
		if link.SpanContext.IsSampled() {
			return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample,
				Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
		}
	}
	return l.ratio.ShouldSample(p)
}

func (l linked) Description() string { return "LinkedOr{" + l.ratio.Description() + "}" }

// Tracing is a process's tracing: one exporter shared by a TracerProvider per service.
// A nil *Tracing is tracing off.
type Tracing struct {
	exporter sdktrace.SpanExporter
	sampler  sdktrace.Sampler
	file     io.Closer // the file exporter's file
	// immediate writes each span when it ends (stdout, file), not in batches.
	immediate bool

	mu        sync.Mutex
	providers map[string]*sdktrace.TracerProvider
}

// Open starts the configured exporter; it returns nil (tracing off) for none. The file
// exporter writes dataDir/traces.jsonl, appending.
func Open(ctx context.Context, c Config, dataDir string) (*Tracing, error) {
	t := &Tracing{
		sampler:   Sampler(c.SampleRatio),
		providers: map[string]*sdktrace.TracerProvider{},
	}
	var err error
	switch c.Exporter.Value {
	case ExporterNone, "":
		return nil, nil
	case ExporterOTLPGRPC:
		var opts []otlptracegrpc.Option
		if c.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(c.Endpoint))
		}
		t.exporter, err = otlptracegrpc.New(ctx, opts...)
	case ExporterOTLPHTTP:
		var opts []otlptracehttp.Option
		if c.Endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(httpTracesURL(c.Endpoint)))
		}
		t.exporter, err = otlptracehttp.New(ctx, opts...)
	case ExporterStdout:
		t.immediate = true
		t.exporter, err = stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
	case ExporterFile:
		if err = os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("tracing: %w", err)
		}
		f, ferr := os.OpenFile(filepath.Join(dataDir, FileName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if ferr != nil {
			return nil, fmt.Errorf("tracing: %w", ferr)
		}
		t.file, t.immediate = f, true
		t.exporter, err = stdouttrace.New(stdouttrace.WithWriter(f))
	default:
		return nil, fmt.Errorf("tracing: unknown exporter %q", c.Exporter.Value)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: %s exporter: %w", c.Exporter.Value, err)
	}
	return t, nil
}

// Provider returns the TracerProvider of the named service (its spans' resource says
// service.name=<service>): a no-op one when tracing is off.
func (t *Tracing) Provider(service string) trace.TracerProvider {
	if t == nil {
		return noop.NewTracerProvider()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if tp, ok := t.providers[service]; ok {
		return tp
	}
	// OTEL_RESOURCE_ATTRIBUTES (deployment.environment, k8s.pod.name…) are added; the
	// service's own name wins over OTEL_SERVICE_NAME, since one process may run several.
	res, _ := resource.Merge(resource.Environment(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(service), semconv.ServiceNamespace("healthcore")))
	// A collector gets batches; a person reading the file or stdout gets each span as
	// soon as it ends.
	processor := sdktrace.NewBatchSpanProcessor(shared{t.exporter})
	if t.immediate {
		processor = sdktrace.NewSimpleSpanProcessor(shared{t.exporter})
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(t.sampler),
		sdktrace.WithSpanProcessor(processor),
	)
	t.providers[service] = tp
	return tp
}

// Shutdown flushes every provider's pending spans and closes the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var all []error
	for _, tp := range t.providers {
		all = append(all, tp.Shutdown(ctx))
	}
	all = append(all, t.exporter.Shutdown(ctx))
	if t.file != nil {
		all = append(all, t.file.Close())
	}
	return errors.Join(all...)
}

// shared is the exporter as each provider's batcher sees it: the providers share it,
// so one provider's shutdown must not close it for the others (Tracing.Shutdown does).
type shared struct{ sdktrace.SpanExporter }

func (shared) Shutdown(context.Context) error { return nil }

// TraceID returns the hex trace id of the span in ctx, or "" when there is none.
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}
