package clinics

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// The address is checked when the connection is made, after the name is resolved: a
// name registered while public that later resolves to a private or loopback address
// reaches nothing.
func TestEventClient_RefusesNonPublicAddressesAtDialTime(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	port := srv.Listener.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()
	s := &Service{cfg: DefaultConfig()}
	client := s.eventClient(nil)
	for _, u := range []string{srv.URL, "https://localhost:" + strconv.Itoa(int(port)) + "/"} {
		_, err := client.Post(u, "application/json", strings.NewReader("{}"))
		if err == nil || !strings.Contains(err.Error(), "is not public: refused") {
			t.Errorf("%s: %v, want the address refused", u, err)
		}
	}
	// With the development flag, loopback is allowed (and the test certificate trusted).
	s.cfg.EventAllowLoopback = true
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	resp, err := s.eventClient(roots).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("loopback allowed: %v, %v", resp, err)
	}
	resp.Body.Close()

	for ip, want := range map[string]bool{
		"8.8.8.8": true, "2001:4860:4860::8888": true, "10.1.2.3": false, "172.16.0.1": false, "192.168.0.1": false,
		"169.254.169.254": false, "100.64.1.1": false, "0.0.0.0": false, "::": false, "fd00::1": false, "fe80::1": false,
		"224.0.0.1": false, "::ffff:192.168.0.1": false, "255.255.255.255": false,
	} {
		if got := (&Service{}).addressAllowed(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s allowed = %v, want %v", ip, got, want)
		}
	}
}
