package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestNew_RedactsSecretsAndAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo)
	ctx := WithRequestID(context.Background(), "req-123")
	log.InfoContext(ctx, "login", "password", "hunter22", "refresh_token", "abc", "cpf", "52998224725",
		slog.Group("req", "Authorization", "Bearer x"), "user_id", "u1")

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, buf.String())
	}
	for _, k := range []string{"password", "refresh_token", "cpf"} {
		if got[k] != Redacted {
			t.Errorf("%s = %v, want redacted", k, got[k])
		}
	}
	if req := got["req"].(map[string]any); req["Authorization"] != Redacted {
		t.Errorf("nested Authorization = %v, want redacted", req["Authorization"])
	}
	if got["user_id"] != "u1" || got["request_id"] != "req-123" {
		t.Errorf("user_id=%v request_id=%v, want u1 and req-123", got["user_id"], got["request_id"])
	}
	if bytes.Contains(buf.Bytes(), []byte("hunter22")) || bytes.Contains(buf.Bytes(), []byte("52998224725")) {
		t.Errorf("secret leaked into log: %s", buf.String())
	}
}

func TestNew_AddsTraceAndSpanIDOfTheSpanInContext(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo)
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	log.InfoContext(ctx, "rpc")
	log.InfoContext(context.Background(), "no span")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %s", len(lines), buf.String())
	}
	var with, without map[string]any
	if err := json.Unmarshal(lines[0], &with); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lines[1], &without); err != nil {
		t.Fatal(err)
	}
	if with["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || with["span_id"] != "00f067aa0ba902b7" {
		t.Errorf("trace_id=%v span_id=%v, want the span's ids", with["trace_id"], with["span_id"])
	}
	if _, ok := without["trace_id"]; ok {
		t.Errorf("a line logged without a span has trace_id %v", without["trace_id"])
	}
}
