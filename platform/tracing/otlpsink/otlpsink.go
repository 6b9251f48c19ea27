// Package otlpsink is an OTLP/HTTP trace receiver on a loopback port, what a collector
// is to the processes that export to it: the end-to-end test reads the spans it is
// sent, the benchmarks count them.
package otlpsink

import (
	"io"
	"net/http"
	"net/http/httptest"

	collectorv1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Sink receives OTLP/HTTP protobuf exports at URL/v1/traces.
type Sink struct {
	URL string // give it to -otel-endpoint with -otel-exporter=otlp-http
	srv *httptest.Server
}

// Start listens on loopback and calls each with every export received (concurrently,
// as exports arrive).
func Start(each func(*collectorv1.ExportTraceServiceRequest)) *Sink {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want protobuf on /v1/traces", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(r.Body)
		req := &collectorv1.ExportTraceServiceRequest{}
		if err == nil {
			err = proto.Unmarshal(body, req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		each(req)
		out, _ := proto.Marshal(&collectorv1.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	return &Sink{URL: srv.URL, srv: srv}
}

// Flags turn tracing on in a healthcore process, exporting here.
func (s *Sink) Flags() []string {
	return []string{"-otel-exporter=otlp-http", "-otel-endpoint=" + s.URL}
}

// Close stops listening.
func (s *Sink) Close() { s.srv.Close() }
