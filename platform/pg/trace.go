package pg

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// QueryTracer is a pgx tracer that records a client span per statement, named by the
// statement's operation and table ("SELECT appointments", "INSERT payment_events",
// "COMMIT") or by its sqlc name ("-- name: JobGetAvailable"). Spans hold the
// operation, the table and the schema, and PostgreSQL's SQLSTATE on failure — never
// the SQL's arguments, nor the error's message, which may quote a value.
//
// It records only inside a span that is itself recorded (a sampled request or job):
// River's polling and unsampled calls cost one context lookup per statement.
type QueryTracer struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
	schema attribute.KeyValue
	names  statementNames
}

// NewQueryTracer returns a tracer recording with tp on connections to schema.
func NewQueryTracer(tp trace.TracerProvider, schema string) *QueryTracer {
	return &QueryTracer{tp: tp, tracer: tp.Tracer("healthcore/platform/pg"), schema: attribute.String("db.namespace", schema)}
}

// TracerProvider is the provider the statements are traced with (the service's, given
// to OpenTraced): platform/jobs records the service's jobs with the same.
func (q *QueryTracer) TracerProvider() trace.TracerProvider { return q.tp }

type statementSpanKey struct{}

// TraceQueryStart starts the statement's span when the caller's span is recorded.
func (q *QueryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	st := q.names.of(data.SQL)
	attrs := []attribute.KeyValue{attribute.String("db.system.name", "postgresql"), q.schema, attribute.String("db.operation.name", st.operation)}
	if st.table != "" {
		attrs = append(attrs, attribute.String("db.collection.name", st.table))
	}
	ctx, span := q.tracer.Start(ctx, st.name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, statementSpanKey{}, span)
}

// TraceQueryEnd ends the statement's span, if TraceQueryStart started one.
func (q *QueryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span, ok := ctx.Value(statementSpanKey{}).(trace.Span)
	if !ok {
		return
	}
	if data.Err != nil {
		code := "error"
		if pgErr, ok := errors.AsType[*pgconn.PgError](data.Err); ok {
			code = pgErr.Code
			span.SetAttributes(attribute.String("db.response.status_code", pgErr.Code))
		}
		span.SetStatus(codes.Error, code)
	}
	span.End()
}

// statement is what a span says of a statement.
type statement struct{ name, operation, table string }

// statementNames caches the names of statements by their text: the platform's
// statements are constants, so the cache stays small; past maxCached (dynamic SQL)
// names are computed each time.
type statementNames struct {
	m sync.Map // SQL → statement
	n atomic.Int32
}

const maxCached = 2000

func (c *statementNames) of(sql string) statement {
	if st, ok := c.m.Load(sql); ok {
		return st.(statement)
	}
	st := nameStatement(sql)
	if c.n.Load() < maxCached {
		if _, loaded := c.m.LoadOrStore(sql, st); !loaded {
			c.n.Add(1)
		}
	}
	return st
}

// nameStatement names a statement from its text alone: a leading sqlc "-- name: X"
// comment, else the first keyword and the table it acts on (INSERT INTO t, UPDATE t,
// DELETE FROM t, SELECT … FROM t at the outermost level).
func nameStatement(sql string) statement {
	s := strings.TrimSpace(sql)
	if rest, ok := strings.CutPrefix(s, "-- name: "); ok {
		name, _, _ := strings.Cut(rest, " ")
		name, _, _ = strings.Cut(name, "\n")
		return statement{name: name, operation: name}
	}
	for strings.HasPrefix(s, "--") { // other leading comments
		_, s, _ = strings.Cut(s, "\n")
		s = strings.TrimSpace(s)
	}
	words := sqlWords(s, 64)
	if len(words) == 0 {
		return statement{name: "SQL", operation: "SQL"}
	}
	op := strings.ToUpper(words[0].text)
	var after string // the keyword the table follows
	switch op {
	case "SELECT", "DELETE":
		after = "FROM"
	case "INSERT":
		after = "INTO"
	case "UPDATE":
		if len(words) > 1 {
			return named(op, words[1].text)
		}
	}
	if after != "" {
		for i, w := range words[:len(words)-1] {
			if w.depth == 0 && strings.EqualFold(w.text, after) {
				return named(op, words[i+1].text)
			}
		}
	}
	return statement{name: op, operation: op}
}

func named(op, table string) statement {
	table = strings.Trim(table, `"`)
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		table = strings.Trim(table[i+1:], `"`)
	}
	if table == "" || strings.HasPrefix(table, "$") {
		return statement{name: op, operation: op}
	}
	return statement{name: op + " " + table, operation: op, table: table}
}

type sqlWord struct {
	text  string
	depth int // parentheses around it
}

// sqlWords splits the first max words of s on spaces, commas and parentheses, noting
// each word's depth in parentheses; quoted strings are skipped whole.
func sqlWords(s string, max int) []sqlWord {
	var out []sqlWord
	depth, start := 0, -1
	flush := func(i int) {
		if start >= 0 {
			out = append(out, sqlWord{text: s[start:i], depth: depth})
			start = -1
		}
	}
	for i := 0; i < len(s) && len(out) < max; i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r', ',', ';':
			flush(i)
		case '(':
			flush(i)
			depth++
		case ')':
			flush(i)
			depth--
		case '\'':
			flush(i)
			if j := strings.IndexByte(s[i+1:], '\''); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(s))
	return out
}
