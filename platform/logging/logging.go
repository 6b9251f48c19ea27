package logging

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// New returns a JSON logger at the given level that redacts sensitive attributes and
// adds the request id, trace id and span id found in the context.
func New(w io.Writer, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redact})
	return slog.New(contextHandler{h})
}

// ParseLevel maps "debug", "info", "warn" or "error" to a level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// sensitive lists fragments of attribute keys whose values are never logged.
var sensitive = []string{"password", "token", "secret", "cpf", "authorization", "cookie", "plaintext", "private", "join"}

// Redacted is what a sensitive value is replaced with.
const Redacted = "[REDACTED]"

func redact(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range sensitive {
		if strings.Contains(k, s) {
			return slog.String(a.Key, Redacted)
		}
	}
	return a
}

type ctxKey struct{}

// WithRequestID returns a context carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id in the context, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// contextHandler adds request_id to every record logged with a context that has one,
// and trace_id and span_id when the context holds a span (sampled or not: the ids
// still join the lines of one request across services), so a log line leads to its
// trace and back.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// Fields is a per-call set of attributes that inner layers add to and the outer
// logging interceptor writes once, when the call ends (for example the caller's user id,
// known only after authentication).
type Fields struct{ attrs []slog.Attr }

type fieldsKey struct{}

// WithFields returns a context carrying a new, empty Fields and the Fields itself.
func WithFields(ctx context.Context) (context.Context, *Fields) {
	f := &Fields{}
	return context.WithValue(ctx, fieldsKey{}, f), f
}

// AddFields appends attributes to the call's Fields, if the context has one. It is not
// safe for concurrent use within one call, which is how calls use it.
func AddFields(ctx context.Context, attrs ...slog.Attr) {
	if f, ok := ctx.Value(fieldsKey{}).(*Fields); ok {
		f.attrs = append(f.attrs, attrs...)
	}
}

// Attrs returns the attributes added so far.
func (f *Fields) Attrs() []slog.Attr { return f.attrs }
