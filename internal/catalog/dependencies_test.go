package catalog

import (
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// endpoint is a driver as the catalog sees it: something with a vendor endpoint.
type endpoint string

func (e endpoint) Endpoint() string { return string(e) }

// The ops /readyz lists a vendor endpoint that answers (any status) as SERVING, one
// that refuses connections as DEGRADED, and stays 200 either way; the metric says the
// same. A driver without an endpoint (a local one) is not listed.
func TestReadyz_VendorEndpointDegradedStaysReady(t *testing.T) {
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden) // an unsigned request refused: reachable
	}))
	t.Cleanup(vendor.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg := NewConfig(fs, true)
	if err := cfg.Parse(fs, []string{"-data-dir=" + t.TempDir(), "-log-level=warn"}); err != nil {
		t.Fatal(err)
	}
	p := NewProcess(cfg, "")
	p.dependOnEndpoint("chime", endpoint(vendor.URL))
	p.dependOnEndpoint("s3", endpoint(down))
	p.dependOnEndpoint("local blobs", struct{}{})

	rec := httptest.NewRecorder()
	p.readyzHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	body := rec.Body.String()
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if rec.Code != http.StatusOK || len(lines) != 3 || lines[0] != "degraded" || lines[1] != "chime: SERVING" ||
		!strings.HasPrefix(lines[2], "s3: DEGRADED: "+ln.Addr().String()+": ") || !strings.Contains(lines[2], "refused") {
		t.Fatalf("/readyz %d:\n%s", rec.Code, body)
	}

	metrics := httptest.NewRecorder()
	promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{}).ServeHTTP(metrics, httptest.NewRequest("GET", "/metrics", nil))
	raw, _ := io.ReadAll(metrics.Body)
	for _, want := range []string{`healthcore_dependency_up{dependency="chime"} 1`, `healthcore_dependency_up{dependency="s3"} 0`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
