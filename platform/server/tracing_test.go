package server_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// TestOrder_TracingContinuesTheCallersTraceCoversAuthAndLogsItsIDs: the server span
// continues the trace of the caller's traceparent, sees the answer of authentication
// and validation (inside it), and the call's log line carries its trace and span ids
// (logging runs inside tracing). Request fields never reach the span.
func TestOrder_TracingContinuesTheCallersTraceCoversAuthAndLogsItsIDs(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	st := start(t, server.Options{Auth: serviceAuth(), Tracer: tp}, mountKeys(keysService(t)))

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	const secret = "plaintext-secret-5551234"
	call := func(token bool, reqID string) error {
		req := encryptReq(secret)
		req.Msg.KeyId = strings.Repeat("k", 300) // invalid: reaches validation only when authenticated
		req.Header().Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
		req.Header().Set(server.RequestIDHeader, reqID)
		_, err := keysClient(t, st, token, connect.WithGRPC()).Encrypt(context.Background(), req)
		return err
	}
	if err := call(false, "trace-anon-0001"); !errs.Has(err, authn.ReasonTokenMissing) {
		t.Fatalf("anonymous call: %v, want %v", err, authn.ReasonTokenMissing)
	}
	if err := call(true, "trace-auth-0001"); !errs.Has(err, server.ReasonValidationFailed) {
		t.Fatalf("authenticated call: %v, want %v", err, server.ReasonValidationFailed)
	}

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2 (one per call)", len(spans))
	}
	for i, want := range []struct{ reqID, code string }{{"trace-anon-0001", "UNAUTHENTICATED"}, {"trace-auth-0001", "INVALID_ARGUMENT"}} {
		s := spans[i]
		if s.Name() != "healthcore.keys.v1.KeysService/Encrypt" {
			t.Errorf("span name %q", s.Name())
		}
		if s.SpanContext().TraceID().String() != traceID || s.Parent().SpanID().String() != parentID {
			t.Errorf("span %d: trace %s parent %s, want the caller's %s and %s", i, s.SpanContext().TraceID(), s.Parent().SpanID(), traceID, parentID)
		}
		attrs := attrMap(s.Attributes())
		if attrs["rpc.response.status_code"] != want.code {
			t.Errorf("span %d attributes %v: no status %s (authentication and validation ran inside the span)", i, attrs, want.code)
		}
		if attrs["rpc.request.metadata.x-request-id"] != `["`+want.reqID+`"]` {
			t.Errorf("span %d attributes %v: no request id %s", i, attrs, want.reqID)
		}
		for k, v := range attrs {
			if strings.Contains(v, secret) {
				t.Errorf("span %d attribute %s holds a request field: %q", i, k, v)
			}
		}
		line := st.logs.one(t, "rpc", map[string]any{"request_id": want.reqID})
		if line["trace_id"] != traceID || line["span_id"] != s.SpanContext().SpanID().String() {
			t.Errorf("log line trace_id=%v span_id=%v, want %s and the server span's %s", line["trace_id"], line["span_id"], traceID, s.SpanContext().SpanID())
		}
	}
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}
