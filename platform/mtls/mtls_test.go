package mtls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"healthcore/platform/authn"
)

// devSource writes a development CA and certificates for services into a temporary
// directory and opens the named one's.
func devSource(t *testing.T, dir, name string) *Source {
	t.Helper()
	s, err := Open(DevFiles(dir, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeDev(t *testing.T, services ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := WriteDevCerts(dir, services); err != nil {
		t.Fatal(err)
	}
	return dir
}

// serve starts a TLS listener of src on loopback whose handler answers the peer
// service the middleware recorded, and returns its address.
func serve(t *testing.T, src *Source) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto+" peer="+authn.PeerService(r.Context()))
	}))}
	go func() { _ = hs.Serve(tls.NewListener(ln, src.ServerTLS())) }()
	t.Cleanup(func() { _ = hs.Close() })
	return ln.Addr().String()
}

// h2Client makes an HTTP/2 client over cfg, with no connection reuse between tests.
func h2Client(cfg *tls.Config) *http.Client {
	var p http.Protocols
	p.SetHTTP2(true)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, Protocols: &p}}
}

func get(c *http.Client, addr string) (string, error) {
	resp, err := c.Get("https://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestMTLS_ClientCertificateNamesTheCallingService(t *testing.T) {
	dir := writeDev(t, "records", "keys")
	addr := serve(t, devSource(t, dir, "keys"))
	got, err := get(h2Client(devSource(t, dir, "records").ClientTLS("keys")), addr)
	if err != nil {
		t.Fatal(err)
	}
	if got != "HTTP/2.0 peer=records" {
		t.Errorf("answer %q, want HTTP/2.0 peer=records", got)
	}
}

func TestMTLS_ClientWithoutCertificateConnectsAndNamesNoService(t *testing.T) {
	dir := writeDev(t, "keys")
	addr := serve(t, devSource(t, dir, "keys"))
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	pool.AppendCertsFromPEM(ca)
	got, err := get(h2Client(&tls.Config{RootCAs: pool, ServerName: "localhost"}), addr)
	if err != nil {
		t.Fatal(err)
	}
	if got != "HTTP/2.0 peer=" {
		t.Errorf("answer %q, want no peer service", got)
	}
}

func TestMTLS_ClientCertificateFromAnotherCAFailsTheHandshake(t *testing.T) {
	dir := writeDev(t, "keys")
	other := writeDev(t, "records")
	addr := serve(t, devSource(t, dir, "keys"))
	// The intruder trusts the real CA (to get as far as sending its certificate) but
	// holds a certificate from its own.
	intruder := devSource(t, other, "records").ClientTLS("keys")
	real := devSource(t, dir, "keys")
	intruder.VerifyConnection = func(cs tls.ConnectionState) error { return real.verifyServer(cs, "keys") }
	conn, err := tls.Dial("tcp", addr, intruder)
	if err == nil {
		// In TLS 1.3 the server checks the client's certificate after the client has
		// finished its side of the handshake: the refusal is the first thing read.
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Read(make([]byte, 1))
	}
	if err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Fatalf("err = %v, want the handshake refused with an unknown-CA alert", err)
	}
	if _, err := get(h2Client(intruder), addr); err == nil {
		t.Error("an HTTP/2 client with a certificate from another CA got an answer")
	}
}

func TestMTLS_PlainH2CAgainstTheTLSListenerFails(t *testing.T) {
	dir := writeDev(t, "keys")
	addr := serve(t, devSource(t, dir, "keys"))
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &p}}
	resp, err := c.Get("http://" + addr + "/")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("h2c got an answer (%s) from a TLS listener", resp.Status)
	}
}

func TestMTLS_ClientRefusesAServerNamingAnotherService(t *testing.T) {
	dir := writeDev(t, "records", "keys")
	addr := serve(t, devSource(t, dir, "records")) // records answers where keys was expected
	_, err := get(h2Client(devSource(t, dir, "records").ClientTLS("keys")), addr)
	if err == nil || !strings.Contains(err.Error(), "expected the keys service") {
		t.Fatalf("err = %v, want the client to refuse a server that is not keys", err)
	}
}

func TestMTLS_TLS12IsRefused(t *testing.T) {
	dir := writeDev(t, "keys")
	addr := serve(t, devSource(t, dir, "keys"))
	cfg := devSource(t, dir, "keys").ClientTLS("keys")
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	conn, err := tls.Dial("tcp", addr, cfg)
	if err == nil {
		conn.Close()
		t.Fatal("a TLS 1.2 handshake succeeded")
	}
	if !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("err = %v, want a protocol version alert", err)
	}
}

func TestSource_ReplacedFilesAreServedWithoutRestart(t *testing.T) {
	dir := writeDev(t, "records", "keys")
	src := devSource(t, dir, "keys")
	src.every = 0 // look at the files at every handshake
	addr := serve(t, src)
	client := devSource(t, dir, "records")
	client.every = 0
	before := servedSerial(t, addr, client.ClientTLS("keys"))

	// A new CA and new certificates replace the old ones on disk (as cert-manager
	// renews them); a new connection gets the new certificate, and it verifies against
	// the new CA.
	if err := WriteDevCerts(dir, []string{"records", "keys"}); err != nil {
		t.Fatal(err)
	}
	after := servedSerial(t, addr, client.ClientTLS("keys"))
	if after.Cmp(before) == 0 {
		t.Fatal("the same certificate is served after its files were replaced")
	}
	if want := serialOnDisk(t, filepath.Join(dir, "keys.pem")); after.Cmp(want) != 0 {
		t.Errorf("served serial %v, want the new file's %v", after, want)
	}
}

func TestSource_BadReplacementKeepsTheCurrentMaterialAndIsLogged(t *testing.T) {
	dir := writeDev(t, "keys")
	var logs strings.Builder
	src, err := Open(DevFiles(dir, "keys"), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	src.every = 0
	want := src.current().cert.Leaf.SerialNumber

	// A key that does not match the certificate (another set's key written over it).
	other := writeDev(t, "keys")
	key, _ := os.ReadFile(filepath.Join(other, "keys-key.pem"))
	if err := os.WriteFile(filepath.Join(dir, "keys-key.pem"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := src.current().cert.Leaf.SerialNumber; got.Cmp(want) != 0 {
			t.Fatalf("serial %v after a bad replacement, want the previous %v", got, want)
		}
	}
	if n := strings.Count(logs.String(), "not loaded"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once:\n%s", n, logs.String())
	}
}

func TestOpen_RefusesIncompleteOrForeignMaterial(t *testing.T) {
	dir := writeDev(t, "keys")
	other := writeDev(t, "keys")
	for name, f := range map[string]Files{
		"no CA":          {Cert: DevFiles(dir, "keys").Cert, Key: DevFiles(dir, "keys").Key},
		"missing file":   {Cert: filepath.Join(dir, "nope.pem"), Key: DevFiles(dir, "keys").Key, CA: DevFiles(dir, "keys").CA},
		"key of another": {Cert: DevFiles(dir, "keys").Cert, Key: DevFiles(other, "keys").Key, CA: DevFiles(dir, "keys").CA},
		"another CA":     {Cert: DevFiles(dir, "keys").Cert, Key: DevFiles(dir, "keys").Key, CA: DevFiles(other, "keys").CA},
		"CA is not PEM":  {Cert: DevFiles(dir, "keys").Cert, Key: DevFiles(dir, "keys").Key, CA: DevFiles(dir, "keys").Key},
	} {
		if _, err := Open(f, nil); err == nil {
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

func TestWriteDevCerts_FilesNamesAndLifetimes(t *testing.T) {
	dir := writeDev(t, "keys", "records")
	for _, name := range []string{"keys", "records", "gateway"} {
		fi, err := os.Stat(filepath.Join(dir, name+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s-key.pem mode %v, want 0600", name, fi.Mode().Perm())
		}
		c := certOnDisk(t, filepath.Join(dir, name+".pem"))
		if got := Services(c); !slices.Equal(got, []string{name}) {
			t.Errorf("%s.pem names %v", name, got)
		}
		if !slices.Contains(c.DNSNames, "localhost") || len(c.IPAddresses) != 1 || !c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
			t.Errorf("%s.pem: DNS %v, IP %v; want localhost and 127.0.0.1", name, c.DNSNames, c.IPAddresses)
		}
		if life := c.NotAfter.Sub(c.NotBefore); life < 89*24*time.Hour || life > 91*24*time.Hour {
			t.Errorf("%s.pem valid for %v, want 90 days", name, life)
		}
	}
	ca := certOnDisk(t, filepath.Join(dir, "ca.pem"))
	if life := ca.NotAfter.Sub(ca.NotBefore); !ca.IsCA || life < 364*24*time.Hour || life > 366*24*time.Hour {
		t.Errorf("ca.pem: IsCA %v, valid for %v; want a CA for a year", ca.IsCA, life)
	}
	if _, err := os.Stat(filepath.Join(dir, "ca-key.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the CA's key was written (err %v)", err)
	}
	if err := WriteDevCerts(t.TempDir(), []string{"Bad/Name"}); err == nil {
		t.Error("a service name that is no URI path segment was accepted")
	}
}

// servedSerial connects with cfg and returns the serial of the server's certificate.
func servedSerial(t *testing.T, addr string, cfg *tls.Config) *big.Int {
	t.Helper()
	d := tls.Dialer{Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber
}

func serialOnDisk(t *testing.T, name string) *big.Int { return certOnDisk(t, name).SerialNumber }

func certOnDisk(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", name)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPublic_ServesItsCertificateAndReloadsIt(t *testing.T) {
	dir := writeDev(t, "gateway")
	pub, err := OpenPublic(filepath.Join(dir, "gateway.pem"), filepath.Join(dir, "gateway-key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub.every = 0
	ln, err := tls.Listen("tcp", "127.0.0.1:0", pub.ServerTLS())
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	})}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	addr := ln.Addr().String()
	// A browser: trusts the CA, checks the host name, presents no certificate.
	browser := func() *tls.Config {
		pool := x509.NewCertPool()
		ca, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
		pool.AppendCertsFromPEM(ca)
		return &tls.Config{RootCAs: pool, ServerName: "localhost"}
	}
	if got, err := get(h2Client(browser()), addr); err != nil || got != "HTTP/2.0" {
		t.Fatalf("answer %q, %v; want HTTP/2.0", got, err)
	}
	before := servedSerial(t, addr, browser())
	if err := WriteDevCerts(dir, []string{"gateway"}); err != nil {
		t.Fatal(err)
	}
	if after := servedSerial(t, addr, browser()); after.Cmp(before) == 0 || after.Cmp(serialOnDisk(t, filepath.Join(dir, "gateway.pem"))) != 0 {
		t.Errorf("served serial %v after the files were replaced (before %v)", after, before)
	}
}

func TestMiddleware_RecordsTheServicesAVerifiedCertificateNames(t *testing.T) {
	chain := func(services ...string) *tls.ConnectionState {
		c := &x509.Certificate{}
		for _, s := range services {
			c.URIs = append(c.URIs, SPIFFEID(s))
		}
		return &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{c}}}
	}
	for name, tc := range map[string]struct {
		state *tls.ConnectionState
		want  string
	}{
		"one service":                  {chain("records"), "records"},
		"several services":             {chain("records", "blobs"), "records blobs"},
		"no certificate":               {&tls.ConnectionState{}, ""},
		"plain connection":             {nil, ""},
		"another trust domain ignored": {&tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{URIs: []*url.URL{{Scheme: "spiffe", Host: "other", Path: "/records"}}}}}}, ""},
	} {
		var got string
		h := Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			got = strings.Join(authn.PeerServices(r.Context()), " ")
		}))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.TLS = tc.state
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tc.want {
			t.Errorf("%s: peer service %q, want %q", name, got, tc.want)
		}
	}
}
