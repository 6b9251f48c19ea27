// Package tracing sets up OpenTelemetry tracing for a process: one exporter (OTLP over
// gRPC or HTTP to a collector, or JSON lines to a file or stdout), one TracerProvider
// per service so each span names the service it ran in, parent-based ratio sampling
// and W3C trace context. Off (exporter none), every provider is a no-op and the
// instrumentation costs next to nothing.
package tracing
