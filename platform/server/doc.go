// Package server builds the process that serves one or more Healthcore services on a
// single h2c port: Connect handlers (gRPC, gRPC-Web and Connect), gRPC health per
// service, server reflection for grpcurl, Prometheus metrics, the interceptor chain in
// the order docs/architecture.md records, and a graceful stop that reports NOT_SERVING before draining.
package server
