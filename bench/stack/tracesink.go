package stack

import (
	"sync/atomic"

	collectorv1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"

	"healthcore/platform/tracing/otlpsink"
)

// TraceSink counts the spans it is sent and drops them: the collector of a benchmark
// that measures what tracing costs the services (encoding and sending spans included),
// not what storing them costs.
type TraceSink struct {
	*otlpsink.Sink
	spans atomic.Int64
}

// StartTraceSink listens on a loopback port; Flags turn tracing on at the default
// sample ratio, exporting there.
func StartTraceSink() *TraceSink {
	s := &TraceSink{}
	s.Sink = otlpsink.Start(func(req *collectorv1.ExportTraceServiceRequest) {
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				s.spans.Add(int64(len(ss.GetSpans())))
			}
		}
	})
	return s
}

// Spans is how many spans were received so far.
func (s *TraceSink) Spans() int64 { return s.spans.Load() }
