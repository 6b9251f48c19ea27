package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/platform/server"
	"healthcore/services/keys"
)

// panickingDecryptKeys is the real keys service whose Decrypt panics.
type panickingDecryptKeys struct{ *keys.Service }

func (panickingDecryptKeys) Decrypt(context.Context, *connect.Request[keysv1.DecryptRequest]) (*connect.Response[keysv1.DecryptResponse], error) {
	panic("decrypt bug")
}

// rpcSamples returns, by "method code", how many calls of service the duration
// histogram holds, and the service's in-flight gauge.
func rpcSamples(t *testing.T, st *stack, service string) (map[string]uint64, float64) {
	t.Helper()
	families, err := st.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts, inflight := map[string]uint64{}, -1.0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] != service {
				continue
			}
			switch f.GetName() {
			case "healthcore_rpc_duration_seconds":
				counts[labels["method"]+" "+labels["code"]] += m.GetHistogram().GetSampleCount()
			case "healthcore_rpc_in_flight":
				inflight = m.GetGauge().GetValue()
			}
		}
	}
	return counts, inflight
}

func TestMetrics_EveryCallIsTimedByServiceMethodAndCode(t *testing.T) {
	t.Parallel()
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(panickingDecryptKeys{keysService(t)}))
	ctx := context.Background()
	client := keysClient(t, st, true, connect.WithGRPC())
	for range 2 {
		if _, err := client.Encrypt(ctx, encryptReq("hello")); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = client.Encrypt(ctx, connect.NewRequest(&keysv1.EncryptRequest{}))
	_, _ = keysClient(t, st, false, connect.WithGRPC()).GenerateDataKey(ctx, connect.NewRequest(&keysv1.GenerateDataKeyRequest{}))
	_, _ = client.Decrypt(ctx, connect.NewRequest(&keysv1.DecryptRequest{CiphertextBlob: []byte("x")}))

	counts, inflight := rpcSamples(t, st, "healthcore.keys.v1.KeysService")
	want := map[string]uint64{
		"Encrypt ok":                      2,
		"Encrypt invalid_argument":        1,
		"GenerateDataKey unauthenticated": 1, // refused calls count: metrics run outside auth
		"Decrypt internal":                1, // a panic is counted as what the client gets
	}
	if len(counts) != len(want) {
		t.Errorf("samples %v, want %v", counts, want)
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("samples[%s] = %d, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	if inflight != 0 {
		t.Errorf("in-flight gauge = %v after every call ended, want 0", inflight)
	}

	// The ops listener's /metrics serves the same registry; the service port none.
	resp, err := testHTTPGet(t, startOps(t, st.reg, false)+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp, `healthcore_rpc_duration_seconds_count{code="ok",method="Encrypt",service="healthcore.keys.v1.KeysService"} 2`) {
		t.Errorf("/metrics lacks the Encrypt ok count:\n%s", resp)
	}
	if code := httpStatus(t, st.url+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the service port: %d, want 404", code)
	}
}

func TestMetrics_CancelledCallIsCountedAsCanceledNotInternal(t *testing.T) {
	t.Parallel()
	b := blockingKeys{keysService(t), make(chan struct{}, 1), make(chan struct{})}
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(b))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := keysClient(t, st, true, connect.WithGRPC()).Encrypt(ctx, encryptReq("hello"))
		errc <- err
	}()
	<-b.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) && connect.CodeOf(err) != connect.CodeCanceled {
		t.Fatalf("client got %v, want canceled", err)
	}
	// The server notices the cancellation on its own schedule: wait for the sample.
	var counts map[string]uint64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if counts, _ = rpcSamples(t, st, "healthcore.keys.v1.KeysService"); len(counts) > 0 {
			break
		}
	}
	if len(counts) != 1 || counts["Encrypt canceled"] != 1 {
		t.Errorf("samples %v, want one Encrypt canceled", counts)
	}
}
