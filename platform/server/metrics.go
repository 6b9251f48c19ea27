package server

import (
	"context"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"healthcore/platform/errs"
)

// Metrics counts and times every RPC by service, method and code.
type Metrics struct {
	duration *prometheus.HistogramVec
	inflight *prometheus.GaugeVec
}

// NewMetrics registers the RPC metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "healthcore_rpc_duration_seconds",
			Help:    "Time to answer an RPC, by service, method and gRPC code.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"service", "method", "code"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "healthcore_rpc_in_flight",
			Help: "RPCs being answered now.",
		}, []string{"service"}),
	}
	reg.MustRegister(m.duration, m.inflight)
	return m
}

func (m *Metrics) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		done := m.start(req.Spec().Procedure)
		resp, err := next(ctx, req)
		done(err)
		return resp, err
	}
}

func (m *Metrics) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (m *Metrics) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		done := m.start(conn.Spec().Procedure)
		err := next(ctx, conn)
		done(err)
		return err
	}
}

func (m *Metrics) start(procedure string) func(error) {
	service, method := splitProcedure(procedure)
	g := m.inflight.WithLabelValues(service)
	g.Inc()
	start := time.Now()
	return func(err error) {
		g.Dec()
		code := "ok"
		if err != nil {
			code = errs.Code(err).String()
		}
		m.duration.WithLabelValues(service, method, code).Observe(time.Since(start).Seconds())
	}
}

// splitProcedure turns "/healthcore.identity.v1.IdentityService/Login" into its service
// and method.
func splitProcedure(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, ""
}
