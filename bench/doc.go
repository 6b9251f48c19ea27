// Package bench holds the benchmarks whose figures the README and the issues report.
// They run against real components (PostgreSQL, the keys service, the production server
// stack) and never assert timings: `make bench` prints them.
package bench
