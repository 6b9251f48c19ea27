package server_test

import (
	"bytes"
	"net/http"
	"net/netip"
	"testing"

	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// A trusted peer (the gateway) gets its answers uncompressed even when it accepts
// gzip; another caller still gets gzip.
func TestServer_TrustedPeersGetUncompressedAnswers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		trusted  []netip.Prefix
		encoding string
	}{
		{"trusted peer", testkit.Loopback, ""},
		{"other peer", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, "gzip"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := start(t, server.Options{TrustedProxies: tt.trusted}, mountKeys(keysService(t)))
			// An empty grpc.health.v1.HealthCheckRequest, framed as gRPC.
			req, err := http.NewRequest(http.MethodPost, st.url+"/grpc.health.v1.Health/Check", bytes.NewReader([]byte{0, 0, 0, 0, 0}))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/grpc")
			req.Header.Set("Te", "trailers")
			req.Header.Set("Grpc-Accept-Encoding", "gzip")
			resp, err := testkit.HTTPClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Grpc-Encoding"); got != tt.encoding {
				t.Errorf("grpc-encoding %q, want %q", got, tt.encoding)
			}
		})
	}
}
