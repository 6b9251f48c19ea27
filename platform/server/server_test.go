package server_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/server"
	"healthcore/services/keys"
)

var protocols = []struct {
	name string
	opts []connect.ClientOption
}{
	{"connect", nil},
	{"grpc", []connect.ClientOption{connect.WithGRPC()}},
	{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
}

func TestServer_PanicBecomesInternalAndIsLogged(t *testing.T) {
	t.Parallel()
	svc := keysService(t)
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(panickingKeys{svc}))
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			id := "panic-" + p.name + "-0001"
			req := encryptReq("hello")
			req.Header().Set(server.RequestIDHeader, id)
			_, err := keysClient(t, st, true, p.opts...).Encrypt(context.Background(), req)

			ce := wantReason(t, err, errs.ReasonInternal, "internal error")
			if strings.Contains(err.Error(), "secret-panic-detail") {
				t.Errorf("panic text leaked to the client: %v", err)
			}
			if got := ce.Meta().Get(server.RequestIDHeader); got != id {
				t.Errorf("request id in the answer = %q, want %q", got, id)
			}
			line := st.logs.one(t, "panic in rpc", map[string]any{"request_id": id})
			if line["level"] != "ERROR" || line["procedure"] != "/healthcore.keys.v1.KeysService/Encrypt" || line["panic"] != panicText {
				t.Errorf("panic log line = %v", line)
			}
			// The stack names the frame that panicked, not just the recovery.
			if stack, _ := line["stack"].(string); !strings.Contains(stack, "panickingKeys.Encrypt") {
				t.Errorf("stack does not show the panicking handler:\n%s", stack)
			}
		})
	}
	// The server survives: other methods still answer.
	resp, err := keysClient(t, st, true).GenerateDataKey(context.Background(), connect.NewRequest(&keysv1.GenerateDataKeyRequest{}))
	if err != nil {
		t.Fatalf("GenerateDataKey after panics: %v", err)
	}
	if n := len(resp.Msg.GetPlaintext()); n != 32 {
		t.Errorf("GenerateDataKey after panics gave a %d-byte key, want 32", n)
	}
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestServer_RequestIDIsEchoedWhenValidAndReplacedOtherwise(t *testing.T) {
	t.Parallel()
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(keysService(t)))
	client := keysClient(t, st, true, connect.WithGRPC())
	tests := []struct {
		name string
		sent string // "" sends no header
		kept bool
	}{
		{"valid id is kept", "client-req_0001.a", true},
		{"128 characters is kept", strings.Repeat("r", 128), true},
		{"absent", "", false},
		{"too short", "abc1234", false},
		{"bad characters", "req id\twith spaces", false},
		{"log injection", `x","level":"ERROR`, false},
		{"too long", strings.Repeat("r", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := encryptReq("hello")
			if tt.sent != "" {
				req.Header().Set(server.RequestIDHeader, tt.sent)
			}
			resp, err := client.Encrypt(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			got := resp.Header().Get(server.RequestIDHeader)
			if tt.kept && got != tt.sent {
				t.Errorf("answer's id = %q, want the caller's %q", got, tt.sent)
			}
			if !tt.kept && (!hex32.MatchString(got) || got == tt.sent) {
				t.Errorf("answer's id = %q, want a fresh 32-hex id", got)
			}
			st.logs.one(t, "rpc", map[string]any{"request_id": got, "code": "ok"})
			if !tt.kept && tt.sent != "" && strings.Contains(st.logs.String(), tt.sent) {
				t.Errorf("refused id %q reached the log", tt.sent)
			}
		})
	}
}

func TestServer_RequestIDIsEchoedOnErrors(t *testing.T) {
	t.Parallel()
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(keysService(t)))
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			id := "failed-call-" + p.name
			req := connect.NewRequest(&keysv1.EncryptRequest{}) // no plaintext: invalid
			req.Header().Set(server.RequestIDHeader, id)
			_, err := keysClient(t, st, true, p.opts...).Encrypt(context.Background(), req)
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument {
				t.Fatalf("got %v, want invalid_argument", err)
			}
			if got := ce.Meta().Get(server.RequestIDHeader); got != id {
				t.Errorf("request id on the error = %q, want %q", got, id)
			}
		})
	}
}

func TestServer_ClientAddrReadsEveryForwardedForLine(t *testing.T) {
	t.Parallel()
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(keysService(t)))
	client := keysClient(t, st, true, connect.WithGRPC())
	tests := []struct {
		name   string
		lines  []string
		client string
	}{
		{"no header: the loopback peer", nil, "127.0.0.1"},
		{"one line", []string{"198.51.100.1"}, "198.51.100.1"},
		// The last line was added by the proxy nearest to us; the first may be forged.
		{"two lines are one list", []string{"198.51.100.1", "203.0.113.5"}, "203.0.113.5"},
		{"trusted hops are skipped", []string{"198.51.100.1, 203.0.113.5", "127.0.0.9"}, "203.0.113.5"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("xff-case-%04d", i)
			req := encryptReq("hello")
			req.Header().Set(server.RequestIDHeader, id)
			for _, l := range tt.lines {
				req.Header().Add("X-Forwarded-For", l)
			}
			if _, err := client.Encrypt(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			line := st.logs.one(t, "rpc", map[string]any{"request_id": id})
			if line["client_addr"] != tt.client {
				t.Errorf("client_addr = %v, want %s", line["client_addr"], tt.client)
			}
		})
	}
}

func TestLogger_InternalCausesAreLoggedNeverSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		err   error
		cause string
	}{
		{"errs.Internal", errs.Internal("server_test: TestLogger_InternalCausesAreLoggedNeverSent", errors.New("disk full at cause-7731")), "cause-7731"},
		{"plain error", fmt.Errorf("query failed: cause-8842"), "cause-8842"},
		{"internal error from a downstream service", connect.NewError(connect.CodeInternal, errors.New("downstream cause-9953")), "cause-9953"},
		{"unknown error from a downstream service", connect.NewError(connect.CodeUnknown, errors.New("downstream cause-1064")), "cause-1064"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(failingKeys{keysService(t), tt.err}))
			id := fmt.Sprintf("internal-cause-%d", i)
			req := encryptReq("hello")
			req.Header().Set(server.RequestIDHeader, id)
			_, err := keysClient(t, st, true, connect.WithGRPC()).Encrypt(context.Background(), req)

			wantReason(t, err, errs.ReasonInternal, "internal error")
			if strings.Contains(err.Error(), tt.cause) {
				t.Errorf("cause reached the client: %v", err)
			}
			line := st.logs.one(t, "rpc", map[string]any{"request_id": id})
			if line["level"] != "ERROR" || line["code"] != "internal" || line["reason"] != errs.ReasonInternal.Name() {
				t.Errorf("log line = %v, want ERROR internal INTERNAL", line)
			}
			if e, _ := line["error"].(string); !strings.Contains(e, tt.cause) {
				t.Errorf("log line error = %q, want it to contain %q", e, tt.cause)
			}
		})
	}
}

func TestLogger_ClientErrorsAreLoggedAtInfoWithTheirReason(t *testing.T) {
	t.Parallel()
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(keysService(t)))
	tests := []struct {
		name   string
		token  bool
		req    *keysv1.DecryptRequest
		reason errs.Reason
	}{
		{"validation", true, &keysv1.DecryptRequest{}, server.ReasonValidationFailed},
		{"domain error", true, &keysv1.DecryptRequest{CiphertextBlob: []byte("not a ciphertext")}, keys.ReasonDecryptFailed},
		{"no credential", false, &keysv1.DecryptRequest{CiphertextBlob: []byte("x")}, authn.ReasonTokenMissing},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("client-error-%d", i)
			req := connect.NewRequest(tt.req)
			req.Header().Set(server.RequestIDHeader, id)
			_, err := keysClient(t, st, tt.token, connect.WithGRPC()).Decrypt(context.Background(), req)
			if err == nil {
				t.Fatal("call succeeded")
			}
			line := st.logs.one(t, "rpc", map[string]any{"request_id": id})
			if line["level"] != "INFO" || line["code"] != tt.reason.Code().String() || line["reason"] != tt.reason.Name() {
				t.Errorf("log line = %v, want INFO %s %s", line, tt.reason.Code(), tt.reason.Name())
			}
			if _, ok := line["error"]; ok {
				t.Errorf("a client error logged a cause: %v", line)
			}
			if line["procedure"] != "/healthcore.keys.v1.KeysService/Decrypt" || line["client_addr"] != "127.0.0.1" {
				t.Errorf("log line = %v, want the procedure and client address", line)
			}
		})
	}
}

func TestLogger_RequestFieldValuesNeverReachTheLog(t *testing.T) {
	t.Parallel()
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(keysService(t)))
	client := keysClient(t, st, true, connect.WithGRPC())
	secrets := []string{"prontuario-secret-value", "context-value-31337", "overlong-key-id-marker"}

	if _, err := client.Encrypt(context.Background(), connect.NewRequest(&keysv1.EncryptRequest{
		Plaintext: []byte(secrets[0]), EncryptionContext: map[string]string{"doc": secrets[1]},
	})); err != nil {
		t.Fatal(err)
	}
	_, err := client.Encrypt(context.Background(), connect.NewRequest(&keysv1.EncryptRequest{
		KeyId: secrets[2] + strings.Repeat("k", 300), Plaintext: []byte(secrets[0]),
	}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("got %v, want invalid_argument", err)
	}
	if n := len(st.logs.find(t, "rpc", nil)); n != 2 {
		t.Fatalf("%d rpc log lines, want 2", n)
	}
	for _, s := range secrets {
		if strings.Contains(st.logs.String(), s) {
			t.Errorf("%q reached the log:\n%s", s, st.logs)
		}
	}
}

// The interceptor order is the one docs/architecture.md records; each case shows one consequence of it.

func TestOrder_RecoveryIsOutermostSoAPanicInAuthenticationIsInternal(t *testing.T) {
	t.Parallel()
	panickyAuth := connect.UnaryInterceptorFunc(func(connect.UnaryFunc) connect.UnaryFunc {
		return func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
			panic("authenticator bug")
		}
	})
	st := start(t, server.Options{Auth: panickyAuth}, mountKeys(keysService(t)))
	req := encryptReq("hello")
	req.Header().Set(server.RequestIDHeader, "auth-panic-0001")
	_, err := keysClient(t, st, true, connect.WithGRPC()).Encrypt(context.Background(), req)

	wantReason(t, err, errs.ReasonInternal, "internal error")
	// Request id runs before authentication, so the panic's line carries the id.
	line := st.logs.one(t, "panic in rpc", map[string]any{"request_id": "auth-panic-0001"})
	if line["panic"] != "authenticator bug" {
		t.Errorf("panic log line = %v", line)
	}
}

func TestOrder_AuthenticationRunsBeforeValidation(t *testing.T) {
	t.Parallel()
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(keysService(t)))
	invalid := func() *connect.Request[keysv1.EncryptRequest] {
		return connect.NewRequest(&keysv1.EncryptRequest{KeyId: strings.Repeat("k", 300)})
	}

	// Anonymous callers learn nothing about what valid input looks like.
	_, err := keysClient(t, st, false, connect.WithGRPC()).Encrypt(context.Background(), invalid())
	ce := wantReason(t, err, authn.ReasonTokenMissing,
		"this call needs an access token: send \"Authorization: Bearer <token>\"")
	for _, d := range ce.Details() {
		if v, _ := d.Value(); v != nil {
			if _, ok := v.(*errdetails.BadRequest); ok {
				t.Errorf("an unauthenticated caller got field violations: %v", v)
			}
		}
	}

	// Authenticated callers get every violation at once.
	_, err = keysClient(t, st, true, connect.WithGRPC()).Encrypt(context.Background(), invalid())
	if !errs.Has(err, server.ReasonValidationFailed) {
		t.Fatalf("got %v, want %v", err, server.ReasonValidationFailed)
	}
	var fields []string
	for _, d := range err.(*connect.Error).Details() {
		if v, _ := d.Value(); v != nil {
			if br, ok := v.(*errdetails.BadRequest); ok {
				for _, fv := range br.GetFieldViolations() {
					fields = append(fields, fv.GetField())
				}
			}
		}
	}
	if strings.Join(fields, ",") != "key_id,plaintext" {
		t.Errorf("field violations %q, want key_id and plaintext", fields)
	}
}
