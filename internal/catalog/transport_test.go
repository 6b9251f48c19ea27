package catalog

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/mtls"
	"healthcore/platform/testkit"
)

func TestConfig_ListenHostPlacesTheListenersThatNameNoHost(t *testing.T) {
	cfg := parsed(t, "-listen-host=127.0.0.2", "-identity.addr=10.0.0.5:9002", "-gateway.addr=:9080")
	for got, want := range map[string]string{
		cfg.ListenAddr("keys"):     "127.0.0.2:7001",
		cfg.ListenAddr("identity"): "10.0.0.5:9002",
		cfg.GatewayListenAddr():    "127.0.0.2:9080",
	} {
		if got != want {
			t.Errorf("listen address %s, want %s", got, want)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	dev := NewConfig(fs, true)
	if err := dev.Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if got := dev.ListenAddr("keys"); got != "127.0.0.1:7001" {
		t.Errorf("dev listens on %s, want loopback", got)
	}
	if got := parsed(t).ListenAddr("keys"); got != "0.0.0.0:7001" {
		t.Errorf("serve listens on %s, want every interface", got)
	}
}

func TestConfig_TransportFlags(t *testing.T) {
	for args, want := range map[string]string{
		"-tls-cert=a.pem -tls-key=a-key.pem":                        "give all three or none",
		"-tls-cert=a -tls-key=b -tls-ca=c -insecure-transport":      "-insecure-transport: not with",
		"-gateway.tls-cert=public.pem":                              "give both or neither",
		"-tls-cert=missing.pem -tls-key=missing.pem -tls-ca=ca.pem": "",
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		err := NewConfig(fs, false).Parse(fs, strings.Fields(args))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
	if err := parsed(t).OpenTLS(true); err == nil || !strings.Contains(err.Error(), "-tls-cert, -tls-key and -tls-ca (HEALTHCORE_TLS_CERT") {
		t.Errorf("production without TLS: %v", err)
	}
	if err := parsed(t, "-insecure-transport").OpenTLS(true); err != nil {
		t.Errorf("-insecure-transport: %v", err)
	}
	if err := parsed(t, "-tls-cert=missing.pem", "-tls-key=missing.pem", "-tls-ca=ca.pem").OpenTLS(true); err == nil || !strings.Contains(err.Error(), "-tls-cert:") {
		t.Errorf("missing files: %v", err)
	}
}

// TestProcess_ServicesCallEachOtherOverMTLS runs keys in one process and calls it from
// others, each with its own certificate and no service keys: the certificate alone
// says who calls.
func TestProcess_ServicesCallEachOtherOverMTLS(t *testing.T) {
	dir := t.TempDir()
	if err := mtls.WriteDevCerts(dir, Names()); err != nil {
		t.Fatal(err)
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	process := func(name string) *Process {
		f := mtls.DevFiles(dir, name)
		cfg := parsed(t, "-keys.addr="+addr, "-keys.url=http://"+addr, "-data-dir="+t.TempDir(), "-log-level=error",
			"-tls-cert="+f.Cert, "-tls-key="+f.Key, "-tls-ca="+f.CA)
		if err := cfg.OpenTLS(true); err != nil {
			t.Fatal(err)
		}
		return NewProcess(cfg, "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan struct{})
	go func() { done <- process("keys").Run(ctx, []string{"keys"}, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("keys: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("keys did not start")
	}
	encrypt := func(c keysv1connect.KeysServiceClient) error {
		_, err := c.Encrypt(ctx, connect.NewRequest(&keysv1.EncryptRequest{
			Plaintext: []byte("x"), EncryptionContext: map[string]string{"doc": "d-1"},
		}))
		return err
	}

	if err := encrypt(client(process("records"), "records", "keys", keysv1connect.NewKeysServiceClient)); err != nil {
		t.Errorf("records, a listed caller: %v", err)
	}
	err = encrypt(client(process("directory"), "directory", "keys", keysv1connect.NewKeysServiceClient))
	testkit.WantReason(t, err, authn.ReasonCallerNotAllowed)
	h2c := keysv1connect.NewKeysServiceClient(newHTTPClient(nil), "http://"+addr, connect.WithGRPC())
	if err := encrypt(h2c); err == nil {
		t.Error("an h2c call to a TLS listener succeeded")
	}
}
