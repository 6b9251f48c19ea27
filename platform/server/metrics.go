package server

import (
	"context"
	"errors"
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
		var resp connect.AnyResponse
		err := m.observe(req.Spec().Procedure, func() (err error) {
			resp, err = next(ctx, req)
			return err
		})
		return resp, err
	}
}

func (m *Metrics) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (m *Metrics) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return m.observe(conn.Spec().Procedure, func() error { return next(ctx, conn) })
	}
}

// errPanicked stands for the error of a call that panicked: recovery, further out,
// answers it as INTERNAL.
var errPanicked = errs.Internal("server: handler", errors.New("handler panicked"))

// observe runs call, counting it in flight meanwhile, and records its duration under the
// code the client receives. A panic passing through is recorded too (as internal), so
// the in-flight gauge does not drift upward with every panic.
func (m *Metrics) observe(procedure string, call func() error) error {
	service, method := splitProcedure(procedure)
	g := m.inflight.WithLabelValues(service)
	g.Inc()
	start := time.Now()
	finished := false
	record := func(err error) {
		g.Dec()
		// The label is the code sent, as the logging interceptor computes it: a plain
		// context.Canceled is "canceled", not "internal".
		ce, _ := errs.ToConnect(err)
		m.duration.WithLabelValues(service, method, codeName(ce)).Observe(time.Since(start).Seconds())
	}
	defer func() {
		if !finished {
			record(errPanicked)
		}
	}()
	err := call()
	finished = true
	record(err)
	return err
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
