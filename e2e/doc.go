// Package e2e runs the platform as a deployment does — every service and the gateway as
// separate OS processes of the healthcore binary, talking over the network — and drives
// user journeys through the REST edge and over gRPC.
package e2e
