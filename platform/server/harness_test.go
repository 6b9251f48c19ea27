package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/errs"
	"healthcore/platform/logging"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/keys"
)

// stack is a server.Server on 127.0.0.1 with the production JSON logger writing into a
// buffer and its own metrics registry.
type stack struct {
	url  string
	addr string
	logs *logBuffer
	reg  *prometheus.Registry
	// stop cancels Serve's context and returns what Serve returned.
	stop func() error
}

// start serves what mount mounts. Options left zero get test defaults; the stack stops
// at the end of the test unless stop was called.
func start(t *testing.T, opts server.Options, mount func(*server.Server)) *stack {
	t.Helper()
	return startLogged(t, &logBuffer{}, opts, mount)
}

// startLogged is start writing the server's log into logs, which a mounted service may
// share.
func startLogged(t *testing.T, logs *logBuffer, opts server.Options, mount func(*server.Server)) *stack {
	t.Helper()
	st := &stack{logs: logs, reg: prometheus.NewRegistry()}
	opts.Addr = "127.0.0.1:0"
	opts.Logger = logs.logger()
	opts.Metrics = server.NewMetrics(st.reg)
	if opts.TrustedProxies == nil {
		opts.TrustedProxies = testkit.Loopback
	}
	srv := server.New(opts)
	mount(srv)
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	st.addr = ln.Addr().String()
	st.url = "http://" + st.addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	st.stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := st.stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", st.logs)
		}
	})
	return st
}

// serviceAuth is the authenticator of the keys service: the tokens of the services its
// methods list (identity, records, scheduling) only.
func serviceAuth() connect.Interceptor { return testkit.ServiceAuth("keys") }

// keysService is the real keys service over its local driver in a temporary folder.
func keysService(t *testing.T) *keys.Service {
	t.Helper()
	d, err := keys.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return keys.New(d)
}

// mountKeys mounts h as the KeysService with the server's interceptors.
func mountKeys(h keysv1connect.KeysServiceHandler) func(*server.Server) {
	return func(s *server.Server) { s.Handle(keysv1connect.NewKeysServiceHandler(h, s.HandlerOptions()...)) }
}

// keysClient calls the stack over h2c with the given protocol options; with token it
// calls as records, one of the services keys admits.
func keysClient(t *testing.T, st *stack, token bool, opts ...connect.ClientOption) keysv1connect.KeysServiceClient {
	if token {
		opts = append(opts, connect.WithInterceptors(testkit.Caller("records")))
	}
	return keysv1connect.NewKeysServiceClient(testkit.HTTPClient(t), st.url, opts...)
}

// The handlers below wrap the real keys service, replacing one method.

// panickingKeys panics in Encrypt.
type panickingKeys struct{ *keys.Service }

const panicText = "driver exploded: secret-panic-detail-4242"

func (panickingKeys) Encrypt(context.Context, *connect.Request[keysv1.EncryptRequest]) (*connect.Response[keysv1.EncryptResponse], error) {
	panic(panicText)
}

// failingKeys answers Encrypt with err.
type failingKeys struct {
	*keys.Service
	err error
}

func (f failingKeys) Encrypt(context.Context, *connect.Request[keysv1.EncryptRequest]) (*connect.Response[keysv1.EncryptResponse], error) {
	return nil, f.err
}

// blockingKeys holds Encrypt until release is closed or the call is cancelled, after
// telling entered that the call arrived.
type blockingKeys struct {
	*keys.Service
	entered chan struct{}
	release chan struct{}
}

func (b blockingKeys) Encrypt(ctx context.Context, req *connect.Request[keysv1.EncryptRequest]) (*connect.Response[keysv1.EncryptResponse], error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return b.Service.Encrypt(ctx, req)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// encryptReq is a valid Encrypt request.
func encryptReq(plaintext string) *connect.Request[keysv1.EncryptRequest] {
	return connect.NewRequest(&keysv1.EncryptRequest{
		Plaintext: []byte(plaintext), EncryptionContext: map[string]string{"doc": "d-1"},
	})
}

// logBuffer collects JSON log lines.
type logBuffer struct{ testkit.LogBuffer }

// logger is the production JSON logger writing into l.
func (l *logBuffer) logger() *slog.Logger { return logging.New(l, slog.LevelDebug) }

// lines returns every log line decoded.
func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		out = append(out, m)
	}
	return out
}

// find returns the lines with message msg whose attributes include every pair of want.
func (l *logBuffer) find(t *testing.T, msg string, want map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
next:
	for _, m := range l.lines(t) {
		if m["msg"] != msg {
			continue
		}
		for k, v := range want {
			if m[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// one returns the single line find finds, failing the test otherwise.
func (l *logBuffer) one(t *testing.T, msg string, want map[string]any) map[string]any {
	t.Helper()
	found := l.find(t, msg, want)
	if len(found) != 1 {
		t.Fatalf("found %d %q log lines with %v, want 1; log:\n%s", len(found), msg, want, l)
	}
	return found[0]
}

// wantReason asserts err is a *connect.Error carrying the declared reason r (so r's
// code) and message.
func wantReason(t *testing.T, err error, r errs.Reason, message string) *connect.Error {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a connect error, want %v", err, err, r)
	}
	if !errs.Has(err, r) || ce.Message() != message {
		t.Fatalf("got %v %q reason %q, want %v %q", ce.Code(), ce.Message(), errs.ReasonOf(err), r, message)
	}
	return ce
}

// dialRefused reports whether a new TCP connection to addr is refused.
func dialRefused(addr string) bool {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

// testHTTPGet returns the body of a GET over plain HTTP/1.1.
func testHTTPGet(t *testing.T, url string) (string, error) {
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}
