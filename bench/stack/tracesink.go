package stack

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	collectorv1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TraceSink is an OTLP/HTTP trace receiver that counts the spans it is sent and drops
// them: the collector of a benchmark that measures what tracing costs the services
// (encoding and sending spans included), not what storing them costs.
type TraceSink struct {
	URL   string
	srv   *httptest.Server
	spans atomic.Int64
}

// StartTraceSink listens on a loopback port.
func StartTraceSink() *TraceSink {
	s := &TraceSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		req := &collectorv1.ExportTraceServiceRequest{}
		if err == nil {
			err = proto.Unmarshal(body, req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				s.spans.Add(int64(len(ss.GetSpans())))
			}
		}
		out, _ := proto.Marshal(&collectorv1.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	s.URL = s.srv.URL
	return s
}

// Flags turn tracing on in a healthcore process, exporting here at the default
// sample ratio (-otel-sample-ratio's, unless ratio is given).
func (s *TraceSink) Flags(ratio ...string) []string {
	f := []string{"-otel-exporter=otlp-http", "-otel-endpoint=" + s.URL}
	if len(ratio) > 0 {
		f = append(f, "-otel-sample-ratio="+ratio[0])
	}
	return f
}

// Spans is how many spans were received so far.
func (s *TraceSink) Spans() int64 { return s.spans.Load() }

// Close stops listening.
func (s *TraceSink) Close() { s.srv.Close() }
