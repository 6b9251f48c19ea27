package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/gateway"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/openapi"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/logging"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/identity"
)

// origin is the browser origin the test gateways allow.
const origin = "https://app.healthcore.example"

// identityUpstream starts the real identity service (fresh database, real keys service,
// production server stack) and returns it as a gateway upstream, with its database.
func identityUpstream(t *testing.T, tweak func(*identity.Config)) (gateway.Upstream, *pgxpool.Pool) {
	t.Helper()
	cfg := identity.DefaultConfig()
	cfg.Argon2 = identity.Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, MaxConcurrent: 4}
	if tweak != nil {
		tweak(&cfg)
	}
	db := pgtest.Pool(t, identity.Schema.Name, identity.Schema)
	svc, err := identity.New(context.Background(), identity.Deps{
		DB: db, Envelope: envelope.New(testkit.Keys(t, "identity"), envelope.Defaults), Logger: testkit.Logger(t),
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	auth := authn.NewInterceptor(authn.NewVerifier(svc.KeySource()), testkit.ServiceVerifier("identity"))
	url := testkit.Serve(t, auth, func(s *server.Server) { s.Handle(svc.Handler(s.HandlerOptions()...)) })
	return gateway.Upstream{
		Service:  identityv1connect.IdentityServiceName,
		Addr:     strings.TrimPrefix(url, "http://"),
		Register: identityv1.RegisterIdentityServiceHandler,
	}, db
}

// edge is a gateway serving on 127.0.0.1.
type edge struct {
	url  string
	gw   *gateway.Gateway
	logs *testkit.LogBuffer
	// stop cancels Serve's context and returns what Serve returned.
	stop func() error
}

// serve builds a gateway from opts (with the merged OpenAPI document and the test
// origin unless set) and serves it until the test ends.
func serve(t *testing.T, opts gateway.Options) *edge {
	t.Helper()
	e := &edge{logs: &testkit.LogBuffer{}}
	opts.Logger = logging.New(e.logs, slog.LevelDebug)
	if opts.OpenAPI == nil {
		opts.OpenAPI = openapi.JSON
	}
	if opts.AllowedOrigins == nil {
		opts.AllowedOrigins = []string{origin}
	}
	g, err := gateway.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.url, e.gw = "http://"+ln.Addr().String(), g
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	e.stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("gateway Serve: %v", err)
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", e.logs)
		}
	})
	return e
}

// reply is an HTTP answer, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body, failing the test when it is not JSON.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.body)
	}
	return m
}

// do sends one request over HTTP/1.1, as a browser would, and reads the answer.
func do(t *testing.T, method, url string, body io.Reader, header http.Header) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

// postJSON posts v as JSON with the given headers (key, value pairs).
func postJSON(t *testing.T, url string, v any, kv ...string) reply {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return do(t, http.MethodPost, url, bytes.NewReader(b), h)
}

// patient is a valid registration body.
func patient(email, cpf string) map[string]any {
	return map[string]any{
		"name": "Maria da Silva", "email": email, "cpf": cpf, "password": "correct horse battery",
		"phone": "+5511987654321", "birthDate": "1985-04-12",
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// registerAndLogin registers a patient through the edge and logs in, returning the
// access token.
func registerAndLogin(t *testing.T, e *edge, email, cpf string) string {
	t.Helper()
	if r := postJSON(t, e.url+"/v1/accounts/patients", patient(email, cpf)); r.status != http.StatusAccepted {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	login := postJSON(t, e.url+"/v1/auth/login", map[string]any{"email": email, "password": "correct horse battery"})
	if login.status != http.StatusOK {
		t.Fatalf("login: %d %s", login.status, login.body)
	}
	return login.json(t)["tokens"].(map[string]any)["accessToken"].(string)
}
