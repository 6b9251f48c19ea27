// Package gateway is the REST edge: a grpc-gateway v2 mux that dials every service over
// gRPC (so calls pass through each service's own interceptors; over mTLS with the
// gateway's own service certificate when it has one), plus what a browser client needs
// around it — request ids, CORS, body limits, JSON errors with the right HTTP status
// and Retry-After, health and readiness, the merged OpenAPI document, the interactive
// API page, and HTTPS with HSTS when given a certificate.
package gateway
