package auditchain

import "github.com/prometheus/client_golang/prometheus"

// Collector exports what the batcher does, labelled with its log's name (log):
//
//	healthcore_audit_batch_transactions_total  transactions run (one per batch, one per
//	                                           row of a batch retried row by row)
//	healthcore_audit_batch_rows_total          rows committed (those taken from the
//	                                           outbox included)
//	healthcore_audit_batch_waiting             rows submitted, and outbox flushes, not
//	                                           yet taken by a batch
//
// rows_total over transactions_total is the group commit's gain (1 when appends come
// one at a time); waiting growing and staying up means the log's head is the
// bottleneck. Batchers of several logs in one process register side by side: the log
// label tells them apart.
func (b *Batcher[R]) Collector() prometheus.Collector {
	labels := prometheus.Labels{"log": b.log.Name}
	return &batchCollector[R]{b: b,
		txs: prometheus.NewDesc("healthcore_audit_batch_transactions_total",
			"Transactions an audit log's batcher ran: one per batch, and one per row of a batch retried row by row.", nil, labels),
		rows: prometheus.NewDesc("healthcore_audit_batch_rows_total",
			"Rows an audit log's batcher committed; over healthcore_audit_batch_transactions_total, the rows per transaction.", nil, labels),
		waiting: prometheus.NewDesc("healthcore_audit_batch_waiting",
			"Rows submitted to an audit log's batcher, and flushes of its outbox, that no batch has taken yet.", nil, labels),
	}
}

type batchCollector[R any] struct {
	b                  *Batcher[R]
	txs, rows, waiting *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *batchCollector[R]) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.txs
	ch <- c.rows
	ch <- c.waiting
}

// Collect implements prometheus.Collector.
func (c *batchCollector[R]) Collect(ch chan<- prometheus.Metric) {
	s := c.b.Stats()
	c.b.mu.Lock()
	waiting := len(c.b.queue)
	c.b.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.txs, prometheus.CounterValue, float64(s.Transactions))
	ch <- prometheus.MustNewConstMetric(c.rows, prometheus.CounterValue, float64(s.Rows))
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(waiting))
}
