package testkit

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/server"
	"healthcore/services/keys"
)

// Loopback is the trusted-proxy list of test servers.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// Serve starts a server on 127.0.0.1 with the production interceptor chain and the
// given authenticator, lets mount add handlers, and returns its base URL. It stops at
// the end of the test.
func Serve(t testing.TB, auth connect.Interceptor, mount func(*server.Server)) string {
	t.Helper()
	return ServeOn(t, Listen(t), auth, mount)
}

// Listen reserves a port on 127.0.0.1 for a server started later with ServeOn: two
// services that call each other each need the other's URL when they are built.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// ServeOn is Serve on a listener of the caller's.
func ServeOn(t testing.TB, ln net.Listener, auth connect.Interceptor, mount func(*server.Server)) string {
	t.Helper()
	srv := server.New(server.Options{
		Addr: "127.0.0.1:0", Auth: auth, TrustedProxies: Loopback, Logger: Logger(t),
		ShutdownTimeout: 5 * time.Second,
	})
	mount(srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stop: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// HTTPClient returns a client that speaks HTTP/2 without TLS (h2c), as services do. Its
// connections close when the test ends, before the servers stop, so a server's graceful
// stop does not wait out HTTP/2's one-second GOAWAY grace period.
func HTTPClient(t testing.TB) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Keys starts the keys service with its local driver in a temporary folder and returns
// a client that calls it as the service caller (one of those its methods list:
// identity, records or scheduling).
func Keys(t testing.TB, caller string) keysv1connect.KeysServiceClient {
	t.Helper()
	driver, err := keys.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	url := Serve(t, ServiceAuth("keys"), func(s *server.Server) {
		s.Handle(keys.New(driver).Handler(s.HandlerOptions()...))
	})
	return keysv1connect.NewKeysServiceClient(HTTPClient(t), url, connect.WithGRPC(), connect.WithInterceptors(Caller(caller)))
}

func noKeys(context.Context) ([]authn.PublicKey, error) { return nil, nil }

// Logger writes server logs to the test log, shown only when a test fails; benchmarks
// discard them.
func Logger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// WantReason fails the test unless err is a gRPC error carrying the declared reason r
// with r's code.
func WantReason(t testing.TB, err error, r errs.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", r)
	}
	ce, ok := errors.AsType[*connect.Error](err)
	if !ok {
		t.Fatalf("error %v is not a connect error", err)
	}
	if !errs.Has(ce, r) {
		t.Fatalf("got %v %q (%v), want %v", ce.Code(), errs.ReasonOf(err), err, r)
	}
}

// RetryAfter returns the RetryInfo delay of an error (HTTP Retry-After at the edge),
// failing the test when it has none.
func RetryAfter(t testing.TB, err error) time.Duration {
	t.Helper()
	ce, ok := errors.AsType[*connect.Error](err)
	if !ok {
		t.Fatalf("not a connect error: %v", err)
	}
	for _, d := range ce.Details() {
		if v, _ := d.Value(); v != nil {
			if ri, ok := v.(*errdetails.RetryInfo); ok {
				return ri.GetRetryDelay().AsDuration()
			}
		}
	}
	t.Fatalf("no RetryInfo in %v", err)
	return 0
}

// Violations returns the BadRequest field violations of an error as field →
// description (descriptions of one field joined), failing the test when err is not a
// Connect error.
func Violations(t testing.TB, err error) map[string]string {
	t.Helper()
	ce, ok := errors.AsType[*connect.Error](err)
	if !ok {
		t.Fatalf("not a connect error: %v", err)
	}
	out := map[string]string{}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			t.Fatal(derr)
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				out[fv.GetField()] += fv.GetDescription()
			}
		}
	}
	return out
}
