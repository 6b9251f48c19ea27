package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	"healthcore/internal/catalog"
	"healthcore/partneredge"
	"healthcore/platform/mtls"
	"healthcore/platform/pgtest"
)

// stack is a running deployment: one process per service plus the gateway, every
// connection between them mutual TLS, each process with its own certificate from a
// development CA (as in production: the certificates alone say which service calls).
type stack struct {
	t       *testing.T
	gateway string            // base URL of the REST edge
	sandbox string            // base URL of the PIX sandbox (its dev approve/reject routes)
	procs   map[string]*proc  // by the name after "serve" (or "-gateway.addr=…" for the gateway)
	addr    map[string]string // gRPC host:port by service
	ops     map[string]string // each process's ops listener, by service or "gateway"
	certs   string            // the CA and every process's certificate (mtls.WriteDevCerts)
	dbURL   string            // the database every process shares
	flags   []string          // the loopback addresses every process is given (create-admin needs keys')
	common  []string          // every process's flags (the partner edge's too)
	edge    string            // host:port of the partner edge (started by partnerEdge)
	keys    string            // dev's folder of service-token keys (startDev); create-admin signs with identity's
	admin   string            // the operator's access token with a second factor, once made (operator)
	totp    map[string]string // each verified doctor's TOTP secret, by CRM number and UF ("654321/SP")
}

// binary is cmd/healthcore, built once for the whole package by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "healthcore-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "healthcore")
	if out, err := exec.Command("go", "build", "-o", binary, "healthcore/cmd/healthcore").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build healthcore: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startStack starts every service and the gateway as separate processes sharing a fresh
// database, and waits until the gateway reports ready. Flags in extra go to every
// process.
func startStack(t *testing.T, extra ...string) *stack {
	t.Helper()
	return startStackOn(t, pgtest.URL(t, catalog.Schemas(catalog.Names())...), extra...)
}

// startStackOn is startStack on the database at dbURL, which the services migrate.
func startStackOn(t *testing.T, dbURL string, extra ...string) *stack {
	t.Helper()
	l, err := catalog.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, gateway: l.Gateway, sandbox: l.Sandbox, addr: l.Addr, ops: l.Ops, certs: t.TempDir(), dbURL: dbURL, flags: l.Flags,
		edge: l.PartnerEdgeAddr}
	if err := mtls.WriteDevCerts(s.certs, append(catalog.Names(), partneredge.Caller)); err != nil {
		t.Fatal(err)
	}
	common := []string{
		"-database-url=" + dbURL,
		"-data-dir=" + t.TempDir(),
		"-log-level=debug",
		"-trusted-proxies=127.0.0.0/8,::1/128", // the gateway, on loopback
	}
	common = append(append(common, l.Flags...), extra...)
	s.common = common
	// The services run the local drivers, named and allowed as production requires,
	// unless extra names others (after them, so they win).
	for _, name := range catalog.Names() {
		s.spawn(binary, append(append(append([]string{"serve", name}, catalog.DevDriverFlags()...), common...), s.ownFlags(name)...)...)
	}
	s.spawn(binary, append(append([]string{"gateway", "-gateway.addr=" + l.GatewayAddr}, common...), s.ownFlags("gateway")...)...)
	s.waitReady()
	return s
}

// partnerEdge starts `healthcore partner-edge` as a process of its own, as production
// runs it: it dials the services over mTLS with its own certificate and serves partners
// TLS with a certificate of the stack's CA (which public() trusts) at 127.0.0.1. It
// answers the edge's URL once the edge listens.
func (s *stack) partnerEdge() string {
	s.t.Helper()
	secret := filepath.Join(s.certs, "partner-edge-call-log.secret")
	if _, err := partneredge.ReadSecret(secret, true); err != nil {
		s.t.Fatal(err)
	}
	ops, err := catalog.FreeAddr()
	if err != nil {
		s.t.Fatal(err)
	}
	s.ops[partneredge.Caller] = ops
	f := mtls.DevFiles(s.certs, partneredge.Caller)
	args := append(append([]string{partneredge.Caller}, s.common...), s.ownFlags(partneredge.Caller)...)
	args = append(args, "-partner-edge.tls-cert="+f.Cert, "-partner-edge.tls-key="+f.Key, "-partner-edge.call-log-secret="+secret)
	s.spawnAs(partneredge.Caller, binary, args...)
	waitListening(s.t, partneredge.Caller, s.edge)
	return "https://" + s.edge
}

// ownFlags give the process of name (a service, or "gateway") its certificate and an
// ops listener of its own.
func (s *stack) ownFlags(name string) []string {
	s.t.Helper()
	f := mtls.DevFiles(s.certs, name)
	return []string{"-tls-cert=" + f.Cert, "-tls-key=" + f.Key, "-tls-ca=" + f.CA, "-ops-addr=" + s.ops[name]}
}

// as returns an HTTP/2 client that calls the service callee as the service caller would
// (over mTLS, presenting caller's certificate), and callee's base URL.
func (s *stack) as(caller, callee string) (connect.HTTPClient, string) {
	s.t.Helper()
	src, err := mtls.Open(mtls.DevFiles(s.certs, caller), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.httpsClient(src.ClientTLS(callee)), "https://" + s.addr[callee]
}

// public is the TLS configuration of a client reaching a service directly without a
// certificate of its own (a partner, internal tooling, a user's app): it trusts the
// stack's CA.
func (s *stack) public() *tls.Config {
	s.t.Helper()
	ca, err := os.ReadFile(mtls.DevFiles(s.certs, "").CA)
	if err != nil {
		s.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS13}
}

// httpsClient is an HTTP/2 client over TLS with cfg, closed at the end of the test.
func (s *stack) httpsClient(cfg *tls.Config) *http.Client {
	var p http.Protocols
	p.SetHTTP2(true)
	tr := &http.Transport{Protocols: &p, TLSClientConfig: cfg}
	s.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// spawn starts one process; at the end of the test it is sent SIGTERM and must exit 0
// (a graceful stop), and its log is shown if the test failed. Unless crashed, a service
// is known by name for crash and restart.
func (s *stack) spawn(bin string, args ...string) { s.spawnAs(args[1], bin, args...) }

// spawnAs is spawn of a process known as name (for crash).
func (s *stack) spawnAs(name, bin string, args ...string) {
	t := s.t
	p := &proc{args: args, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	if s.procs == nil {
		s.procs = map[string]*proc{}
	}
	s.procs[name] = p
	t.Cleanup(func() {
		if p.crashed {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("%s exited with %v", strings.Join(args[:2], " "), err)
			}
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("%s did not stop within 30s of SIGTERM", args[0])
		}
		if t.Failed() {
			t.Logf("---- %s (%s) log ----\n%s", strings.Join(args[:2], " "), name, p.logs.String())
		}
	})
}

// proc is one child process.
type proc struct {
	args    []string
	cmd     *exec.Cmd
	logs    bytes.Buffer
	done    chan error
	crashed bool
}

// crash kills a service's process with SIGKILL: no graceful stop, jobs cut mid-way.
func (s *stack) crash(name string) {
	s.t.Helper()
	p := s.procs[name]
	p.crashed = true
	_ = p.cmd.Process.Kill()
	<-p.done
	s.t.Logf("crashed %s (SIGKILL)", name)
}

// restart starts a crashed service again with the same flags and waits for its port.
func (s *stack) restart(name string) {
	s.t.Helper()
	p := s.procs[name]
	s.spawn(binary, p.args...)
	waitListening(s.t, name, s.addr[name])
}

func (s *stack) waitReady() {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.gateway + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			_ = body
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatal("the stack did not become ready within 60s")
}

// rest sends a JSON request to the gateway and decodes the JSON answer into out.
func (s *stack) rest(method, path, token string, body any, out any) (int, http.Header) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.gateway+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, resp.Header
}
