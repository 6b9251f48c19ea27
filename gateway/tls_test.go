package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"healthcore/gateway"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/gen/openapi"
	"healthcore/platform/mtls"
	"healthcore/platform/server"
	"healthcore/services/keys"
)

// devSource opens dir's development certificate of name.
func devSource(t *testing.T, dir, name string) *mtls.Source {
	t.Helper()
	src, err := mtls.Open(mtls.DevFiles(dir, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// keysOverTLS serves the real keys service over mTLS with dir's "keys" certificate and
// returns it as an upstream named name (readiness checks its health through the
// gateway's connection; it has no REST routes).
func keysOverTLS(t *testing.T, dir, name string) gateway.Upstream {
	t.Helper()
	d, err := keys.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Addr: "127.0.0.1:0", TLS: devSource(t, dir, "keys")})
	srv.Handle(keysv1connect.NewKeysServiceHandler(keys.New(d), srv.HandlerOptions()...))
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return gateway.Upstream{
		Service: keysv1connect.KeysServiceName, Name: name, Addr: ln.Addr().String(),
		Register: func(context.Context, *gwruntime.ServeMux, *grpc.ClientConn) error { return nil },
	}
}

// httpsEdge serves a gateway over TLS with dir's gateway certificate as its public one.
func httpsEdge(t *testing.T, dir string, opts gateway.Options) (url string, client *http.Client, g *gateway.Gateway) {
	t.Helper()
	pub, err := mtls.OpenPublic(filepath.Join(dir, "gateway.pem"), filepath.Join(dir, "gateway-key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.TLS, opts.OpenAPI = pub, openapi.JSON
	g, err = gateway.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway Serve: %v", err)
		}
	})
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	// A browser: trusts the CA, checks the host name, presents no certificate.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return "https://" + ln.Addr().String(), &http.Client{Transport: tr, Timeout: 10 * time.Second}, g
}

func getText(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestGateway_HTTPSWithHSTSAndMTLSToTheServices(t *testing.T) {
	dir := t.TempDir()
	if err := mtls.WriteDevCerts(dir, []string{"keys"}); err != nil {
		t.Fatal(err)
	}
	url, browser, _ := httpsEdge(t, dir, gateway.Options{
		Upstreams: []gateway.Upstream{keysOverTLS(t, dir, "keys")}, ServiceTLS: devSource(t, dir, "gateway"),
	})
	resp, body := getText(t, browser, url+"/readyz")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz %d: %s", resp.StatusCode, body)
	}
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("proto %s, want HTTP/2.0", resp.Proto)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got == "" {
		t.Error("no Strict-Transport-Security over TLS")
	}
	// Plain HTTP to the HTTPS listener gets no answer from the API.
	plain := &http.Client{Timeout: 10 * time.Second}
	if r, err := plain.Get("http://" + strings.TrimPrefix(url, "https://") + "/healthz"); err == nil {
		defer r.Body.Close()
		if r.StatusCode == http.StatusOK {
			t.Error("plain HTTP to the TLS listener was answered 200")
		}
	}
}

func TestGateway_RefusesAnUpstreamThatIsNotTheServiceNamed(t *testing.T) {
	dir := t.TempDir()
	if err := mtls.WriteDevCerts(dir, []string{"keys"}); err != nil {
		t.Fatal(err)
	}
	// keys answers where identity was expected: its certificate does not name identity.
	url, browser, g := httpsEdge(t, dir, gateway.Options{
		Upstreams: []gateway.Upstream{keysOverTLS(t, dir, "identity")}, ServiceTLS: devSource(t, dir, "gateway"),
	})
	resp, body := getText(t, browser, url+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(body) != "not ready" {
		t.Errorf("/readyz %d: %s; want 503 not ready", resp.StatusCode, body)
	}
	// The ops listener's detail names the mismatch.
	rec := httptest.NewRecorder()
	g.UpstreamsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, gateway.ReadyzOpsPath, nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "expected the identity service") {
		t.Errorf("ops detail %d: %s; want 503 naming the certificate mismatch", rec.Code, rec.Body)
	}
}

func TestGateway_ServiceTLSNeedsTheUpstreamsName(t *testing.T) {
	dir := t.TempDir()
	if err := mtls.WriteDevCerts(dir, nil); err != nil {
		t.Fatal(err)
	}
	_, err := gateway.New(context.Background(), gateway.Options{
		OpenAPI:    openapi.JSON,
		Upstreams:  []gateway.Upstream{{Service: keysv1connect.KeysServiceName, Addr: "127.0.0.1:1"}},
		ServiceTLS: devSource(t, dir, "gateway"),
	})
	if err == nil || !strings.Contains(err.Error(), "name is needed") {
		t.Errorf("err = %v, want the missing name refused", err)
	}
}
