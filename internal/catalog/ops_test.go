package catalog

import (
	"context"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

// keysProcess runs the keys service alone in a process configured as dev or serve
// would be (dev), with its ops listener; it returns the service's host:port and the
// ops listener's base URL.
func keysProcess(t *testing.T, dev bool, flags ...string) (addr, ops string) {
	t.Helper()
	keysDir := t.TempDir()
	if err := authn.WriteServiceKeys(keysDir, Names()); err != nil {
		t.Fatal(err)
	}
	addrs, err := FreeAddrs(2)
	if err != nil {
		t.Fatal(err)
	}
	addr, opsAddr := addrs[0], addrs[1]
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg := NewConfig(fs, dev)
	args := []string{"-data-dir=" + t.TempDir(), "-log-level=warn", "-service-keys=" + keysDir,
		"-keys.addr=" + addr, "-keys.url=http://" + addr, "-ops-addr=" + opsAddr}
	if err := cfg.Parse(fs, append(args, flags...)); err != nil {
		t.Fatal(err)
	}
	if err := cfg.OpenServiceKeys([]string{"keys"}, false); err != nil {
		t.Fatal(err)
	}
	p := NewProcess(cfg, "")
	ctx, cancel := context.WithCancel(context.Background())
	stopOps, err := p.StartOps(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- p.Run(ctx, []string{"keys"}, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("keys stopped with %v", err)
		}
		stopOps()
		p.Close()
	})
	select {
	case <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("keys did not start: %v", err)
	}
	return addr, "http://" + opsAddr
}

// get returns the status and body of a GET over HTTP/1.1.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// listServices is grpcurl's "list": the services reflection names, or its error.
func listServices(t *testing.T, addr string) ([]string, error) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		return nil, err
	}
	// A send that meets a stream the server already ended returns io.EOF; the status,
	// as gRPC defines it, is what the receive then returns.
	_ = stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

func TestReflection_OnInDevOffInProductionUnlessAsked(t *testing.T) {
	for _, tt := range []struct {
		name string
		dev  bool
		flag []string
		on   bool
	}{
		{"dev", true, nil, true},
		{"dev -reflection=false", true, []string{"-reflection=false"}, false},
		{"serve", false, nil, false},
		{"serve -reflection", false, []string{"-reflection"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := keysProcess(t, tt.dev, tt.flag...)
			names, err := listServices(t, addr)
			switch {
			case tt.on && (err != nil || !strings.Contains(strings.Join(names, " "), keysv1connect.KeysServiceName)):
				t.Errorf("list: %v %v, want the keys service listed", names, err)
			case !tt.on && status.Code(err) != codes.Unimplemented:
				t.Errorf("list: %v %v, want Unimplemented", names, err)
			}
		})
	}
}

func TestStartOps_ServesTheProcessMetricsWhichTheServicePortDoesNot(t *testing.T) {
	addr, ops := keysProcess(t, false)
	// Refused calls are counted too: one without a token is enough.
	keys := keysv1connect.NewKeysServiceClient(testkit.HTTPClient(t), "http://"+addr, connect.WithGRPC())
	if _, err := keys.Encrypt(context.Background(), connect.NewRequest(&keysv1.EncryptRequest{Plaintext: []byte("x")})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("Encrypt without a token: %v, want unauthenticated", err)
	}
	code, body := get(t, ops+"/metrics")
	want := `healthcore_rpc_duration_seconds_count{code="unauthenticated",method="Encrypt",service="healthcore.keys.v1.KeysService"} 1`
	if code != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, "go_goroutines") {
		t.Errorf("ops /metrics: %d, want 200 with %s and the Go collector:\n%s", code, want, body)
	}
	if code, body := get(t, "http://"+addr+"/metrics"); code != http.StatusNotFound || strings.Contains(body, "healthcore_rpc") {
		t.Errorf("GET /metrics on the service port: %d %s, want 404", code, body)
	}
	if code, _ := get(t, ops+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("profiler without -pprof: %d, want 404", code)
	}
}

func TestStartOps_ServesTheProfilerWithPprof(t *testing.T) {
	_, ops := keysProcess(t, false, "-pprof")
	if code, body := get(t, ops+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("profiler with -pprof: %d, want 200 and its index", code)
	}
}

func TestConfig_PprofNeedsTheOpsListener(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := NewConfig(fs, false)
	err := cfg.Parse(fs, []string{"-pprof", "-ops-addr="})
	if err == nil || !strings.Contains(err.Error(), "-pprof") || !strings.Contains(err.Error(), "-ops-addr") {
		t.Errorf("-pprof without -ops-addr: %v, want both named", err)
	}
}

func TestStartOps_AnAddressInUseFailsTheStart(t *testing.T) {
	_, ops := keysProcess(t, false)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := NewConfig(fs, false)
	if err := cfg.Parse(fs, []string{"-ops-addr=" + strings.TrimPrefix(ops, "http://")}); err != nil {
		t.Fatal(err)
	}
	stop, err := NewProcess(cfg, "").StartOps(context.Background())
	if err == nil {
		stop()
		t.Fatal("a second ops listener on the same address started")
	}
	if !strings.Contains(err.Error(), "ops listener on "+strings.TrimPrefix(ops, "http://")) {
		t.Errorf("error %v, want the listener and address named", err)
	}
}

func TestProcess_HandleOpsMountsOnTheOpsListener(t *testing.T) {
	addrs, err := FreeAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := NewConfig(fs, false)
	if err := cfg.Parse(fs, []string{"-ops-addr=" + addrs[0]}); err != nil {
		t.Fatal(err)
	}
	p := NewProcess(cfg, "")
	stop, err := p.StartOps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Mounted while the listener serves, as the gateway mounts its upstreams' detail.
	p.HandleOps("GET /gateway/readyz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "upstreams")
	}))
	if code, body := get(t, "http://"+addrs[0]+"/gateway/readyz"); code != http.StatusOK || body != "upstreams" {
		t.Errorf("mounted route: %d %q", code, body)
	}
	if code, _ := get(t, "http://"+addrs[0]+"/other"); code != http.StatusNotFound {
		t.Errorf("another path: %d, want 404", code)
	}
}
