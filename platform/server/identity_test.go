package server_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/identity"
)

// identityService is the real identity service on a fresh database and a real keys
// service, logging into logs, with its authenticator.
func identityService(t *testing.T, logs *logBuffer) (*identity.Service, connect.Interceptor) {
	t.Helper()
	cfg := identity.DefaultConfig()
	cfg.Argon2 = identity.Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, MaxConcurrent: 4}
	svc, err := identity.New(context.Background(), identity.Deps{
		DB:       pgtest.Pool(t, identity.Schema.Name, identity.Schema),
		Envelope: envelope.New(testkit.Keys(t, "identity"), envelope.Defaults),
		Logger:   logs.logger(),
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc, authn.NewInterceptor(authn.NewVerifier(svc.KeySource()), testkit.ServiceVerifier("identity"))
}

func TestLogger_PasswordsCPFsAndTokensNeverReachTheLog(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	svc, auth := identityService(t, logs)
	st := startLogged(t, logs, server.Options{Auth: auth}, func(s *server.Server) { s.Handle(svc.Handler(s.HandlerOptions()...)) })
	client := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), st.url, connect.WithGRPC())
	ctx := context.Background()
	const (
		password      = "correct horse battery 77"
		wrongPassword = "wrong-password-hunter2"
		cpf           = "529.982.247-25"
	)

	_, err := client.RegisterPatient(ctx, connect.NewRequest(&identityv1.RegisterPatientRequest{
		Name: "Maria da Silva", Email: "maria@exemplo.com.br", Cpf: cpf, Password: password,
		Phone: "+5511987654321", BirthDate: "1985-04-12",
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Login(ctx, connect.NewRequest(&identityv1.LoginRequest{
		Login: &identityv1.LoginRequest_Email{Email: "maria@exemplo.com.br"}, Password: wrongPassword,
	}))
	wantReason(t, err, identity.ReasonInvalidCredentials, "the login or the password is incorrect")
	login, err := client.Login(ctx, connect.NewRequest(&identityv1.LoginRequest{
		Login: &identityv1.LoginRequest_Cpf{Cpf: cpf}, Password: password,
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Login(ctx, connect.NewRequest(&identityv1.LoginRequest{
		Login: &identityv1.LoginRequest_Cpf{Cpf: "bad-cpf-value"}, Password: strings.Repeat(wrongPassword, 10),
	}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("got %v, want invalid_argument", err)
	}

	// The failed login is a client error: INFO, with its reason.
	denied := st.logs.find(t, "rpc", map[string]any{"procedure": "/healthcore.identity.v1.IdentityService/Login", "code": "unauthenticated"})
	if len(denied) != 1 || denied[0]["level"] != "INFO" || denied[0]["reason"] != identity.ReasonInvalidCredentials.Name() {
		t.Errorf("failed login log lines = %v, want one INFO line with reason %s", denied, identity.ReasonInvalidCredentials.Name())
	}
	if n := len(st.logs.find(t, "rpc", nil)); n != 4 {
		t.Errorf("%d rpc log lines, want 4", n)
	}
	for _, secret := range []string{
		password, wrongPassword, cpf, "52998224725", "bad-cpf-value", "1985-04-12", "987654321",
		login.Msg.GetTokens().GetAccessToken(), login.Msg.GetTokens().GetRefreshToken(),
	} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("%q reached the log", secret)
		}
	}
}
