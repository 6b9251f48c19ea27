package pg

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestNameStatement(t *testing.T) {
	for _, tc := range []struct{ sql, want, table string }{
		{"SELECT id, state FROM appointments WHERE id = $1 FOR UPDATE", "SELECT appointments", "appointments"},
		{"\n\t select a.id from scheduling.appointments a join slots s on s.id = a.slot_id", "SELECT appointments", "appointments"},
		{"SELECT (SELECT count(*) FROM reviews r WHERE r.doctor_id = d.id) FROM doctors d", "SELECT doctors", "doctors"},
		{"SELECT 'FROM secrets' AS x FROM \"payments\"", "SELECT payments", "payments"},
		{"INSERT INTO payment_events (payment_id, kind) VALUES ($1, $2)", "INSERT payment_events", "payment_events"},
		{"UPDATE accounts SET name = $2 WHERE id = $1", "UPDATE accounts", "accounts"},
		{"DELETE FROM sessions WHERE expires_at < now()", "DELETE sessions", "sessions"},
		{"WITH due AS (SELECT id FROM slots) UPDATE slots SET x = 1", "WITH", ""},
		{"begin", "BEGIN", ""},
		{"-- name: JobGetAvailable :many\nWITH locked_jobs AS (SELECT 1)", "JobGetAvailable", ""},
		{"SELECT 1", "SELECT", ""},
		{"   ", "SQL", ""},
	} {
		got := nameStatement(tc.sql)
		if got.name != tc.want || got.table != tc.table {
			t.Errorf("nameStatement(%q) = %q (table %q), want %q (table %q)", tc.sql, got.name, got.table, tc.want, tc.table)
		}
	}
}

// TestQueryTracer_SpansNameStatementsNeverArguments runs statements through a traced
// pool and checks the spans: named by operation and table, children of the caller's
// span, a failure's SQLSTATE recorded — and neither the arguments nor the error's
// message (which quotes the duplicate value) anywhere in them.
func TestQueryTracer_SpansNameStatementsNeverArguments(t *testing.T) {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	db, err := OpenTraced(ctx, testServerURL(), "", 1, tp)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if q, ok := db.Config().ConnConfig.Tracer.(*QueryTracer); !ok || q.TracerProvider() != tp {
		t.Error("TracerProvider(pool) is not the provider the pool was opened with")
	}

	// No recorded span in the context: nothing is traced (River's polling, unsampled calls).
	if _, err := db.Exec(ctx, "CREATE TEMP TABLE patients (cpf text PRIMARY KEY, name text)"); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans recorded outside any span, want 0", n)
	}

	const cpf, name = "52998224725", "Maria da Silva"
	rctx, parent := tp.Tracer("test").Start(ctx, "request")
	if _, err := db.Exec(rctx, "INSERT INTO patients (cpf, name) VALUES ($1, $2)", cpf, name); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.QueryRow(rctx, "SELECT name FROM patients WHERE cpf = $1", cpf).Scan(&got); err != nil || got != name {
		t.Fatalf("select: %q, %v", got, err)
	}
	if _, err := db.Exec(rctx, "INSERT INTO patients (cpf, name) VALUES ($1, $2)", cpf, name); err == nil {
		t.Fatal("duplicate insert succeeded")
	}
	parent.End()

	spans := rec.Ended()
	var names []string
	for _, s := range spans {
		if s.Name() == "request" {
			continue
		}
		names = append(names, s.Name())
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %q is not a child of the caller's span", s.Name())
		}
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.String()
			if strings.Contains(kv.Value.String(), cpf) || strings.Contains(kv.Value.String(), "Maria") {
				t.Errorf("span %q attribute %s = %q holds an argument", s.Name(), kv.Key, kv.Value.String())
			}
		}
		if strings.Contains(s.Status().Description, cpf) {
			t.Errorf("span %q status %q holds an argument", s.Name(), s.Status().Description)
		}
		if attrs["db.system.name"] != "postgresql" || attrs["db.collection.name"] != "patients" {
			t.Errorf("span %q attributes %v, want postgresql and table patients", s.Name(), attrs)
		}
	}
	want := []string{"INSERT patients", "SELECT patients", "INSERT patients"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("spans %v, want %v", names, want)
	}
	failed := spans[2]
	if failed.Status().Code != codes.Error {
		t.Errorf("failed insert's status %v, want Error", failed.Status())
	}
	var sqlstate string
	for _, kv := range failed.Attributes() {
		if kv.Key == "db.response.status_code" {
			sqlstate = kv.Value.AsString()
		}
	}
	if sqlstate != "23505" {
		t.Errorf("failed insert's db.response.status_code = %q, want 23505 (unique_violation)", sqlstate)
	}
}
