package keys

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// serviceKeys are the service-token keys of these tests: records, which keys lists as a
// caller, and payments, which it does not. (platform/testkit, which starts the keys
// service, cannot be imported here.)
var serviceKeys = sync.OnceValue(func() *authn.ServiceKeys {
	k, err := authn.GenerateServiceKeys([]string{"keys", "records", "payments"})
	if err != nil {
		panic(err)
	}
	return k
})

// serveKeys serves the keys service over d through the platform server — the whole
// interceptor chain, authentication and validation included — on 127.0.0.1, and
// returns its base URL.
func serveKeys(t *testing.T, d Driver) string {
	t.Helper()
	noUserKeys := authn.NewVerifier(func(context.Context) ([]authn.PublicKey, error) { return nil, nil })
	srv := server.New(server.Options{
		Addr: "127.0.0.1:0", Auth: authn.NewInterceptor(noUserKeys, serviceKeys().Verifier("keys")), Logger: testLogger(t),
	})
	srv.Handle(New(d).Handler(srv.HandlerOptions()...))
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// newClient returns a Connect-protocol client over HTTP/1.1 that calls as records,
// plus opts.
func newClient(t *testing.T, url string, opts ...connect.ClientOption) keysv1connect.KeysServiceClient {
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	opts = append([]connect.ClientOption{connect.WithInterceptors(authn.ServiceCaller(serviceKeys(), "records"))}, opts...)
	return keysv1connect.NewKeysServiceClient(hc, url, opts...)
}

// newGRPCClient returns a gRPC-protocol client over cleartext HTTP/2 (h2c).
func newGRPCClient(t *testing.T, url string) keysv1connect.KeysServiceClient {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	t.Cleanup(hc.CloseIdleConnections)
	return keysv1connect.NewKeysServiceClient(hc, url, connect.WithGRPC(),
		connect.WithInterceptors(authn.ServiceCaller(serviceKeys(), "records")))
}

var docContext = map[string]string{"service": "records", "document": "5b0f"}

func TestService_EncryptThenDecryptReturnsTheValue(t *testing.T) {
	client := newClient(t, serveKeys(t, newLocal(t)))
	ctx := context.Background()
	enc, err := client.Encrypt(ctx, connect.NewRequest(&keysv1.EncryptRequest{Plaintext: []byte("52998224725"), EncryptionContext: docContext}))
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if enc.Msg.GetKeyId() != "local/default/v1" || bytes.Contains(enc.Msg.GetCiphertextBlob(), []byte("52998224725")) {
		t.Fatalf("Encrypt = key %q, blob %x; want local/default/v1 and no plaintext in the blob", enc.Msg.GetKeyId(), enc.Msg.GetCiphertextBlob())
	}
	dec, err := client.Decrypt(ctx, connect.NewRequest(&keysv1.DecryptRequest{CiphertextBlob: enc.Msg.GetCiphertextBlob(), EncryptionContext: docContext}))
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if string(dec.Msg.GetPlaintext()) != "52998224725" || dec.Msg.GetKeyId() != "local/default/v1" {
		t.Errorf("Decrypt = %q under %q, want the value under local/default/v1", dec.Msg.GetPlaintext(), dec.Msg.GetKeyId())
	}
}

func TestService_GenerateDataKeyReturnsA32ByteKeyThatDecrypts(t *testing.T) {
	client := newClient(t, serveKeys(t, newLocal(t)))
	ctx := context.Background()
	gen, err := client.GenerateDataKey(ctx, connect.NewRequest(&keysv1.GenerateDataKeyRequest{EncryptionContext: docContext}))
	if err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	if len(gen.Msg.GetPlaintext()) != 32 || gen.Msg.GetKeyId() != "local/default/v1" {
		t.Fatalf("GenerateDataKey = %d-byte key under %q, want 32 bytes under local/default/v1", len(gen.Msg.GetPlaintext()), gen.Msg.GetKeyId())
	}
	dec, err := client.Decrypt(ctx, connect.NewRequest(&keysv1.DecryptRequest{CiphertextBlob: gen.Msg.GetCiphertextBlob(), EncryptionContext: docContext}))
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !bytes.Equal(dec.Msg.GetPlaintext(), gen.Msg.GetPlaintext()) {
		t.Errorf("Decrypt = %x, want the data key %x", dec.Msg.GetPlaintext(), gen.Msg.GetPlaintext())
	}
}

func TestService_AlteredBlobOrOtherContextIsInvalidArgumentDecryptFailed(t *testing.T) {
	client := newClient(t, serveKeys(t, newLocal(t)))
	ctx := context.Background()
	enc, err := client.Encrypt(ctx, connect.NewRequest(&keysv1.EncryptRequest{Plaintext: []byte("value"), EncryptionContext: docContext}))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(enc.Msg.GetCiphertextBlob())
	tampered[len(tampered)-3] ^= 0x80
	for name, req := range map[string]*keysv1.DecryptRequest{
		"tampered blob": {CiphertextBlob: tampered, EncryptionContext: docContext},
		"other context": {CiphertextBlob: enc.Msg.GetCiphertextBlob(), EncryptionContext: with(docContext, "document", "5b10")},
		"not a blob":    {CiphertextBlob: []byte("hello"), EncryptionContext: docContext},
	} {
		resp, err := client.Decrypt(ctx, connect.NewRequest(req))
		if resp != nil {
			t.Errorf("%s: Decrypt answered %q", name, resp.Msg.GetPlaintext())
		}
		if !errs.Has(err, ReasonDecryptFailed) {
			t.Errorf("%s: error = %v, want INVALID_ARGUMENT DECRYPT_FAILED", name, err)
		}
		const msg = "the ciphertext was altered or the encryption context differs from the one used to encrypt"
		if ce := new(connect.Error); !errors.As(err, &ce) || ce.Message() != msg {
			t.Errorf("%s: message = %v, want %q", name, err, msg)
		}
	}
}

func TestService_CallNotByAListedServiceIsRefused(t *testing.T) {
	url := serveKeys(t, newLocal(t))
	req := &keysv1.EncryptRequest{Plaintext: []byte("x")}
	anonymous := keysv1connect.NewKeysServiceClient(&http.Client{}, url)
	if _, err := anonymous.Encrypt(context.Background(), connect.NewRequest(req)); !errs.Has(err, authn.ReasonTokenMissing) {
		t.Errorf("no token: error = %v, want UNAUTHENTICATED TOKEN_MISSING", err)
	}
	wrong := keysv1connect.NewKeysServiceClient(&http.Client{}, url, connect.WithInterceptors(
		connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				req.Header().Set("Authorization", "Bearer not-the-token")
				return next(ctx, req)
			}
		})))
	if _, err := wrong.Encrypt(context.Background(), connect.NewRequest(req)); !errs.Has(err, authn.ReasonServiceTokenInvalid) {
		t.Errorf("wrong token: error = %v, want UNAUTHENTICATED SERVICE_TOKEN_INVALID", err)
	}
	payments := keysv1connect.NewKeysServiceClient(&http.Client{}, url, connect.WithInterceptors(authn.ServiceCaller(serviceKeys(), "payments")))
	if _, err := payments.Encrypt(context.Background(), connect.NewRequest(req)); !errs.Has(err, authn.ReasonCallerNotAllowed) {
		t.Errorf("payments: error = %v, want PERMISSION_DENIED CALLER_NOT_ALLOWED", err)
	}
}

func TestService_PlaintextOver4KiBIsInvalidArgumentNamingTheField(t *testing.T) {
	client := newClient(t, serveKeys(t, newLocal(t)))
	_, err := client.Encrypt(context.Background(), connect.NewRequest(&keysv1.EncryptRequest{Plaintext: make([]byte, 4097)}))
	if !errs.Has(err, server.ReasonValidationFailed) {
		t.Fatalf("error = %v, want INVALID_ARGUMENT VALIDATION_FAILED", err)
	}
	if got := violatedFields(err); len(got) != 1 || got[0] != "plaintext" {
		t.Errorf("field violations = %v, want [plaintext]", got)
	}
}

func TestService_UnknownKeyIsNotFound(t *testing.T) {
	client := newClient(t, serveKeys(t, newLocal(t)))
	_, err := client.GenerateDataKey(context.Background(), connect.NewRequest(&keysv1.GenerateDataKeyRequest{KeyId: "alias/other"}))
	if !errs.Has(err, ReasonKeyNotFound) {
		t.Errorf("error = %v, want NOT_FOUND KEY_NOT_FOUND", err)
	}
}

func TestService_SpeaksGRPC(t *testing.T) {
	client := newGRPCClient(t, serveKeys(t, newLocal(t)))
	ctx := context.Background()
	enc, err := client.Encrypt(ctx, connect.NewRequest(&keysv1.EncryptRequest{Plaintext: []byte("over grpc"), EncryptionContext: docContext}))
	if err != nil {
		t.Fatalf("Encrypt over gRPC: %v", err)
	}
	dec, err := client.Decrypt(ctx, connect.NewRequest(&keysv1.DecryptRequest{CiphertextBlob: enc.Msg.GetCiphertextBlob(), EncryptionContext: docContext}))
	if err != nil || string(dec.Msg.GetPlaintext()) != "over grpc" {
		t.Fatalf("Decrypt over gRPC = %q, %v; want the value", dec.Msg.GetPlaintext(), err)
	}
	_, err = client.Decrypt(ctx, connect.NewRequest(&keysv1.DecryptRequest{CiphertextBlob: enc.Msg.GetCiphertextBlob()}))
	if !errs.Has(err, ReasonDecryptFailed) {
		t.Errorf("Decrypt without the context over gRPC: error = %v, want INVALID_ARGUMENT DECRYPT_FAILED", err)
	}
}

func TestService_UnreachableKMSIsUnavailable(t *testing.T) {
	useTestCredentials(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close()
	d, err := NewAWS(context.Background(), AWSConfig{KeyID: "alias/healthcore", Region: testRegion, Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	client := newClient(t, serveKeys(t, d))
	_, err = client.Encrypt(context.Background(), connect.NewRequest(&keysv1.EncryptRequest{Plaintext: []byte("x")}))
	if !errs.Has(err, ReasonKMSUnavailable) {
		t.Errorf("error = %v, want UNAVAILABLE KMS_UNAVAILABLE", err)
	}
	if strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q reveals the provider's address", err)
	}
}

func TestService_UnexpectedKMSFailureIsInternalAndHidesTheCause(t *testing.T) {
	d, arn := newAWSWithKey(t)
	if _, err := d.client.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatalf("DisableKey: %v", err)
	}
	client := newClient(t, serveKeys(t, d))
	_, err := client.Encrypt(context.Background(), connect.NewRequest(&keysv1.EncryptRequest{Plaintext: []byte("x")}))
	ce := new(connect.Error)
	if !errors.As(err, &ce) || ce.Code() != connect.CodeInternal || ce.Message() != "internal error" {
		t.Errorf("error = %v, want INTERNAL \"internal error\"", err)
	}
}

// testLogger writes server logs to the test log, shown when a test fails.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// violatedFields returns the fields named by the BadRequest detail of err.
func violatedFields(err error) []string {
	ce := new(connect.Error)
	if !errors.As(err, &ce) {
		return nil
	}
	var fields []string
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if br, ok := v.(*errdetails.BadRequest); derr == nil && ok {
			for _, fv := range br.GetFieldViolations() {
				fields = append(fields, fv.GetField())
			}
		}
	}
	return fields
}
