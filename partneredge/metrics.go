package partneredge

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics time every partner call by method and code: the edge's view, refusals
// included (a rate-limited client shows as resource_exhausted), which the services'
// own RPC metrics never see.
type metrics struct {
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "healthcore_partner_call_duration_seconds",
		Help:    "Time to answer a partner client's call at the partner edge, by method and gRPC code (method \"other\": not a partner method).",
		Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "code"})}
	if reg != nil {
		reg.MustRegister(m.duration)
	}
	return m
}

// observe records a call; known says whether its method is a partner method (others
// share one label, so a client trying paths cannot grow the series).
func (m *metrics) observe(c Call, known bool) {
	method := "other"
	if known {
		method = c.Method[strings.LastIndexByte(c.Method, '/')+1:]
	}
	m.duration.WithLabelValues(method, c.Code).Observe(c.Duration.Seconds())
}
