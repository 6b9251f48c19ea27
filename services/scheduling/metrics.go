package scheduling

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// healthTimeout bounds the query a metrics scrape runs.
const healthTimeout = 2 * time.Second

// sagaCollector exports the booking saga's health, read at scrape time.
type sagaCollector struct {
	s                                        *Service
	appointments, holdOverdue, answerOverdue *prometheus.Desc
	up                                       *prometheus.Desc
}

// Collector exports the booking saga's health at scrape time:
// healthcore_scheduling_appointments by live state, and the oldest PENDING_PAYMENT
// past its hold and AWAITING_DOCTOR past its answer deadline, in seconds late.
func (s *Service) Collector() prometheus.Collector {
	return &sagaCollector{
		s: s,
		appointments: prometheus.NewDesc("healthcore_scheduling_appointments",
			"Live appointments by state (PENDING_PAYMENT, AWAITING_DOCTOR, CONFIRMED).", []string{"state"}, nil),
		holdOverdue: prometheus.NewDesc("healthcore_scheduling_hold_overdue_seconds",
			"How long the oldest PENDING_PAYMENT appointment has been past its hold's end; 0 when none is. The expire-hold job should keep it near 0.", nil, nil),
		answerOverdue: prometheus.NewDesc("healthcore_scheduling_answer_overdue_seconds",
			"How long the oldest AWAITING_DOCTOR appointment has been past its answer deadline; 0 when none is. The answer-deadline job should keep it near 0.", nil, nil),
		up: prometheus.NewDesc("healthcore_scheduling_saga_up",
			"1 when the scrape read the saga's health, 0 when the query failed (the other saga series are then missing).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *sagaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.appointments
	ch <- c.holdOverdue
	ch <- c.answerOverdue
	ch <- c.up
}

// Collect implements prometheus.Collector.
func (c *sagaCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	h, err := c.s.appointments.health(ctx, c.s.db, c.s.now())
	if err != nil {
		c.s.log.Warn("saga metrics not read", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(c.up, 1)
	gauge(c.appointments, float64(h.pendingPayment), "PENDING_PAYMENT")
	gauge(c.appointments, float64(h.awaitingDoctor), "AWAITING_DOCTOR")
	gauge(c.appointments, float64(h.confirmed), "CONFIRMED")
	gauge(c.holdOverdue, h.holdOverdue)
	gauge(c.answerOverdue, h.answerOverdue)
}
