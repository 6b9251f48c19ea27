package server_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/mtls"
	"healthcore/platform/server"
	"healthcore/services/keys"
)

// peerRecorder stands in for the authentication interceptor: it lets every call
// through and keeps the peer service the listener recorded for the last one.
type peerRecorder struct{ got chan string }

func (p peerRecorder) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		p.got <- authn.PeerService(ctx)
		return next(ctx, req)
	}
}
func (peerRecorder) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}
func (peerRecorder) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// tlsServer serves the real keys service over TLS from dir's "keys" certificate.
func tlsServer(t *testing.T, dir string, auth connect.Interceptor) string {
	t.Helper()
	src := openDev(t, dir, "keys")
	srv := server.New(server.Options{Addr: "127.0.0.1:0", TLS: src, Auth: auth})
	d, err := keys.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle(keysv1connect.NewKeysServiceHandler(keys.New(d), srv.HandlerOptions()...))
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "https://" + ln.Addr().String()
}

func openDev(t *testing.T, dir, name string) *mtls.Source {
	t.Helper()
	src, err := mtls.Open(mtls.DevFiles(dir, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func tlsClient(cfg *tls.Config) *http.Client {
	var p http.Protocols
	p.SetHTTP2(true)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, Protocols: &p}}
}

func TestServer_TLSNamesTheCallingServiceToTheInterceptors(t *testing.T) {
	dir := t.TempDir()
	if err := mtls.WriteDevCerts(dir, []string{"keys", "records"}); err != nil {
		t.Fatal(err)
	}
	rec := peerRecorder{got: make(chan string, 1)}
	url := tlsServer(t, dir, rec)
	c := keysv1connect.NewKeysServiceClient(tlsClient(openDev(t, dir, "records").ClientTLS("keys")), url, connect.WithGRPC())
	res, err := c.Encrypt(context.Background(), connect.NewRequest(&keysv1.EncryptRequest{
		Plaintext: []byte("x"), EncryptionContext: map[string]string{"doc": "d-1"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Msg.GetCiphertextBlob()) == 0 {
		t.Error("empty ciphertext")
	}
	if got := <-rec.got; got != "records" {
		t.Errorf("peer service %q, want records", got)
	}
}

func TestServer_TLSHealthAnswersAProbeWithoutCertificate(t *testing.T) {
	dir := t.TempDir()
	if err := mtls.WriteDevCerts(dir, []string{"keys"}); err != nil {
		t.Fatal(err)
	}
	url := tlsServer(t, dir, nil)
	// A probe that checks the server's certificate but presents none of its own.
	cfg := openDev(t, dir, "keys").ClientTLS("keys")
	cfg.GetClientCertificate = nil
	health := connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](
		tlsClient(cfg), url+"/grpc.health.v1.Health/Check", connect.WithGRPC())
	res, err := health.CallUnary(context.Background(), connect.NewRequest(&healthpb.HealthCheckRequest{Service: keysv1connect.KeysServiceName}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health %v, want SERVING", res.Msg.GetStatus())
	}
}

func TestServer_TLSRefusesPlainH2C(t *testing.T) {
	dir := t.TempDir()
	if err := mtls.WriteDevCerts(dir, []string{"keys"}); err != nil {
		t.Fatal(err)
	}
	url := tlsServer(t, dir, nil)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &p}}
	c := keysv1connect.NewKeysServiceClient(h2c, "http"+url[len("https"):], connect.WithGRPC())
	if _, err := c.Encrypt(context.Background(), connect.NewRequest(&keysv1.EncryptRequest{Plaintext: []byte("x")})); err == nil {
		t.Fatal("an h2c call to a TLS listener succeeded")
	}
}
