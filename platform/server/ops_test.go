package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"healthcore/platform/server"
)

// startOps serves an ops listener of reg on 127.0.0.1 until the test ends and returns
// its base URL.
func startOps(t *testing.T, reg prometheus.Gatherer, pprof bool) string {
	t.Helper()
	logs := &logBuffer{}
	ops := server.NewOps(server.OpsOptions{Addr: "127.0.0.1:0", Logger: logs.logger(), Gatherer: reg, Pprof: pprof})
	ln, err := ops.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ops.Serve(ctx, ln) }()
	t.Cleanup(sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ops Serve: %v", err)
		}
	}))
	return "http://" + ln.Addr().String()
}

// httpStatus is the status of a GET of url over HTTP/1.1.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestOps_ServesMetricsAndTheProfilerOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	calls := prometheus.NewCounter(prometheus.CounterOpts{Name: "healthcore_test_calls_total", Help: "calls"})
	reg.MustRegister(calls)
	calls.Add(3)

	for _, pprof := range []bool{false, true} {
		base := startOps(t, reg, pprof)
		body, err := testHTTPGet(t, base+"/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "healthcore_test_calls_total 3") {
			t.Errorf("pprof=%v: /metrics lacks the registry's counter:\n%s", pprof, body)
		}
		want := http.StatusNotFound
		if pprof {
			want = http.StatusOK
		}
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/symbol"} {
			if code := httpStatus(t, base+path); code != want {
				t.Errorf("pprof=%v: GET %s = %d, want %d", pprof, path, code, want)
			}
		}
		// Nothing else: not the services' health or RPCs, not the edge's routes.
		for _, path := range []string{"/", "/healthz", "/readyz", "/grpc.health.v1.Health/Check", "/metrics/x"} {
			if code := httpStatus(t, base+path); code != http.StatusNotFound {
				t.Errorf("pprof=%v: GET %s = %d, want 404", pprof, path, code)
			}
		}
	}
}
