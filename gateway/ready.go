package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// ReadyzOpsPath is where the process's ops listener shows the gateway's readiness in
// detail (UpstreamsHandler); the public /readyz only says ready or not.
const ReadyzOpsPath = "/gateway/readyz"

// ready answers the public /readyz: 200 "ready" only when every upstream reports
// SERVING for its service, else 503 "not ready" (or "draining"), naming nothing: which
// upstream is down, where it is and why are for operators (UpstreamsHandler).
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	if g.draining.Load() {
		writeText(w, http.StatusServiceUnavailable, "draining")
		return
	}
	for _, p := range g.checkUpstreams(r.Context()) {
		if p != "" {
			writeText(w, http.StatusServiceUnavailable, "not ready")
			return
		}
	}
	writeText(w, http.StatusOK, "ready")
}

// UpstreamsHandler answers, for the process's ops listener (at ReadyzOpsPath), what the
// public /readyz keeps to itself: every upstream — its service, its address — and its
// health or the error of the check, one a line; 200 when all serve, else 503.
func (g *Gateway) UpstreamsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problems := g.checkUpstreams(r.Context())
		var b strings.Builder
		code := http.StatusOK
		if g.draining.Load() {
			code = http.StatusServiceUnavailable
			b.WriteString("draining\n")
		}
		for i, u := range g.opts.Upstreams {
			state := "SERVING"
			if problems[i] != "" {
				state, code = problems[i], http.StatusServiceUnavailable
			}
			fmt.Fprintf(&b, "%s %s: %s\n", u.Service, u.Addr, state)
		}
		writeText(w, code, strings.TrimSuffix(b.String(), "\n"))
	})
}

// checkUpstreams asks every upstream's health service about its service, at once, and
// returns per upstream "" when it serves, else what is wrong.
func (g *Gateway) checkUpstreams(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	problems := make([]string, len(g.conns))
	var wg sync.WaitGroup
	for i, conn := range g.conns {
		wg.Go(func() {
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: g.opts.Upstreams[i].Service})
			switch {
			case err != nil:
				problems[i] = err.Error()
			case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
				problems[i] = resp.GetStatus().String()
			}
		})
	}
	wg.Wait()
	return problems
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
