package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTraced_ContinuesTheClientsTraceAndNamesItInHeadersAndErrorBodies: the edge's span
// continues a W3C traceparent, the answer names the trace in Trace-Id and
// traceresponse, an error body carries it as traceId, and probes are not traced.
func TestTraced_ContinuesTheClientsTraceAndNamesItInHeadersAndErrorBodies(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := traced(http.HandlerFunc(routeNotFound), tp)

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req := httptest.NewRequest("GET", "/v1/nowhere?cpf=52998224725", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)

	if w.Code != http.StatusNotFound || w.Header().Get(TraceIDHeader) != traceID {
		t.Fatalf("HTTP %d, Trace-Id %q: want 404 and the client's trace %s", w.Code, w.Header().Get(TraceIDHeader), traceID)
	}
	var body struct {
		Code    int
		Message string
		TraceID string
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.TraceID != traceID || body.Code != 5 || body.Message == "" {
		t.Fatalf("error body %s (%v): want code, message and traceId %s", w.Body, err, traceID)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Parent().SpanID().String() != parentID || w.Header().Get("traceresponse") != "00-"+traceID+"-"+s.SpanContext().SpanID().String()+"-01" {
		t.Errorf("span parent %s, traceresponse %q: want the client's span as parent and this span named", s.Parent().SpanID(), w.Header().Get("traceresponse"))
	}
	for _, kv := range s.Attributes() {
		if v := kv.Value.String(); v == "/v1/nowhere" || len(v) > 40 {
			t.Errorf("attribute %s = %q: the path or query reached the span", kv.Key, v)
		}
		if kv.Key == "http.response.status_code" && kv.Value.AsInt64() != 404 {
			t.Errorf("status attribute %d, want 404", kv.Value.AsInt64())
		}
	}

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/readyz", nil))
	if n := len(rec.Ended()); n != 1 {
		t.Errorf("a probe was traced (%d spans)", n)
	}
}

func TestWithTraceID(t *testing.T) {
	for _, tc := range []struct{ body, id, want string }{
		{`{"code":5,"message":"x"}`, "abc", `{"code":5,"message":"x","traceId":"abc"}`},
		{`{}`, "abc", `{"traceId":"abc"}`},
		{`{"code":5}`, "", `{"code":5}`},
	} {
		if got := string(withTraceID([]byte(tc.body), tc.id)); got != tc.want {
			t.Errorf("withTraceID(%s, %q) = %s, want %s", tc.body, tc.id, got, tc.want)
		}
	}
}
