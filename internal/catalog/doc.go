// Package catalog is the one list of Healthcore's services and how a process is built
// from it: each service's name, port, schema, REST registration, configuration flags
// and constructor wiring, and the clients services call each other with. The binary
// (cmd/healthcore), the end-to-end test and the benchmarks all build from it, so a new
// service is its package, its proto and one entry in services.go.
package catalog
