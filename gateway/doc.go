// Package gateway is the REST edge: a grpc-gateway v2 mux that dials every service over
// gRPC (so calls pass through each service's own interceptors), plus what a browser
// client needs around it — request ids, CORS, body limits, JSON errors with the right
// HTTP status and Retry-After, health and readiness, the merged OpenAPI document and the
// interactive API page.
package gateway
