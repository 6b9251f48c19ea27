package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	healthv1 "google.golang.org/grpc/health/grpc_health_v1"

	"healthcore/gateway"
	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/internal/catalog"
	"healthcore/partneredge"
	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
)

// TestDev_OpsListenerServesTheProcessMetricsAndTheEdgeAndServicesDoNot runs dev as
// make run does (on free ports, a fresh database) with -pprof: after a REST call, the
// ops listener serves both the gateway's HTTP metrics and the services' RPC metrics,
// and the profiler; the REST edge and the service ports serve no /metrics.
func TestDev_OpsListenerServesTheProcessMetricsAndTheEdgeAndServicesDoNot(t *testing.T) {
	l, err := catalog.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	opsAddr := l.Ops["serve"]
	args := append([]string{
		"-database-url=" + pgtest.URL(t, catalog.Schemas(catalog.Names())...), "-data-dir=" + t.TempDir(),
		"-db-max-conns=2", "-log-level=warn", "-gateway.addr=" + l.GatewayAddr, "-ops-addr=" + opsAddr, "-pprof",
	}, l.Flags...)
	startDev(t, args, l.Gateway)

	if code, body := httpGet(t, l.Gateway+"/v1/specialties"); code != http.StatusOK {
		t.Fatalf("GET /v1/specialties: %d %s", code, body)
	}
	ops := "http://" + opsAddr
	code, body := httpGet(t, ops+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("ops /metrics: %d", code)
	}
	for _, want := range []string{
		`healthcore_http_duration_seconds_count{method="GET",status="200"}`,
		`healthcore_rpc_duration_seconds_count{code="ok",method="ListSpecialties",service="healthcore.directory.v1.DirectoryService"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("ops /metrics lacks %s:\n%s", want, body)
		}
	}
	if code, _ := httpGet(t, ops+"/debug/pprof/"); code != http.StatusOK {
		t.Errorf("profiler with -pprof: %d, want 200", code)
	}
	// The gateway's upstreams, and where they are, are on the ops listener only.
	if code, body := httpGet(t, ops+gateway.ReadyzOpsPath); code != http.StatusOK ||
		!strings.Contains(body, "healthcore.identity.v1.IdentityService ") || strings.Count(body, ": SERVING") != strings.Count(strings.TrimSpace(body), "\n")+1 {
		t.Errorf("ops %s: %d %s, want every upstream SERVING at its address", gateway.ReadyzOpsPath, code, body)
	}
	// dev's gateway shows the mail sink's inbox (serve and gateway mount no /dev/mail).
	if code, body := httpGet(t, l.Gateway+catalog.DevMailPath); code != http.StatusOK || !strings.Contains(body, "Caixa de entrada") {
		t.Errorf("GET %s: %d %s", catalog.DevMailPath, code, body)
	}
	if code, body := httpGet(t, l.Gateway+catalog.DevMailPath+"/messages.json"); code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET %s/messages.json: %d %s", catalog.DevMailPath, code, body)
	}
	if code, body := httpGet(t, l.Gateway+"/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ready" {
		t.Errorf("public /readyz: %d %q, want 200 ready and nothing else", code, body)
	}
	// dev serves the partner edge on its port: healthy, and refusing any method partners
	// may not call before a token is even looked at.
	edge := "http://" + l.PartnerEdgeAddr
	health := connect.NewClient[healthv1.HealthCheckRequest, healthv1.HealthCheckResponse](http.DefaultClient, edge+"/grpc.health.v1.Health/Check")
	if resp, err := health.CallUnary(context.Background(), connect.NewRequest(&healthv1.HealthCheckRequest{})); err != nil ||
		resp.Msg.GetStatus() != healthv1.HealthCheckResponse_SERVING {
		t.Errorf("partner edge health: %v %v", resp, err)
	}
	decrypt := connect.NewClient[keysv1.DecryptRequest, keysv1.DecryptResponse](http.DefaultClient, edge+keysv1connect.KeysServiceDecryptProcedure)
	_, err = decrypt.CallUnary(context.Background(), connect.NewRequest(&keysv1.DecryptRequest{}))
	testkit.WantReason(t, err, partneredge.ReasonNotPartnerMethod)
	for _, url := range []string{l.Gateway + "/metrics", "http://" + l.Addr["directory"] + "/metrics", "http://" + l.Addr["identity"] + "/metrics"} {
		if code, body := httpGet(t, url); code != http.StatusNotFound || strings.Contains(body, "healthcore_") {
			t.Errorf("GET %s: %d, want 404 and no metrics", url, code)
		}
	}
}

// startDev runs dev with args until the test ends, and waits until the edge at gateway
// reports ready (failing if dev exits first).
func startDev(t *testing.T, args []string, gateway string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDev(ctx, args) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev stopped with %v", err)
		}
	})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("dev exited before it was ready: %v", err)
		default:
		}
		if code, _ := httpGet(t, gateway+"/readyz"); code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("dev not ready within a minute")
		}
	}
}

// httpGet returns the status and body of a GET over HTTP/1.1 (0 when nothing answers).
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
