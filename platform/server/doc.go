// Package server builds the process that serves one or more Healthcore services on a
// single port, h2c or (given an mtls.Source) HTTP/2 over TLS 1.3: Connect handlers
// (gRPC, gRPC-Web and Connect), gRPC health per service, server reflection for grpcurl
// when asked, per-RPC Prometheus metrics, the interceptor chain in the order
// docs/architecture.md records, and a graceful stop that reports NOT_SERVING before
// draining. Ops is the process's separate listener for /metrics and the profiler.
package server
