// Package obscheck validates the operations configuration in deploy/observability with
// the parsers of the tools that run it: the Prometheus rules with Prometheus' own rule
// and PromQL parsers (and their alerts unit-tested over series, as promtool does), the
// Grafana dashboards' queries with the PromQL parser, and the OpenTelemetry Collector
// and Fluent Bit configurations decoded strictly into the parts of their schemas the
// platform uses. Every metric a rule or panel names must be one the platform registers
// (deploy/observability/metrics.txt, kept equal to the code by a test in the main
// module). Its tests run from `make observability-check`.
package obscheck
