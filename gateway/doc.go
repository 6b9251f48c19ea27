// Package gateway is the REST edge: a grpc-gateway v2 mux that dials every service over
// gRPC (so calls pass through each service's own interceptors; over mTLS with the
// gateway's own service certificate when it has one), plus what a browser client needs
// around it — request ids, CORS, body and header limits, JSON errors with a reason and
// the right HTTP status (the edge's own included: malformed JSON, unknown routes, 405s
// with Allow, unreachable services) and Retry-After, health and readiness (the detail
// for the ops listener only), the merged OpenAPI document with the hand-written routes
// and its OpenAPI 3 conversion, the interactive API page, and HTTPS with HSTS when given
// a certificate.
package gateway
