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

// ready answers 200 only when every upstream reports SERVING for its service.
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	if g.draining.Load() {
		writeText(w, http.StatusServiceUnavailable, "draining")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	problems := make([]string, len(g.conns))
	var wg sync.WaitGroup
	for i, conn := range g.conns {
		wg.Go(func() {
			svc := g.opts.Upstreams[i].Service
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			switch {
			case err != nil:
				problems[i] = fmt.Sprintf("%s: %v", svc, err)
			case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
				problems[i] = fmt.Sprintf("%s: %s", svc, resp.GetStatus())
			}
		})
	}
	wg.Wait()
	var bad []string
	for _, p := range problems {
		if p != "" {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		writeText(w, http.StatusServiceUnavailable, "not ready:\n"+strings.Join(bad, "\n"))
		return
	}
	writeText(w, http.StatusOK, "ready")
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
