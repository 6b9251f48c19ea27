package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/server"
	"healthcore/services/identity"
)

// tokenPair and the other types mirror the REST JSON a frontend reads.
type tokenPair struct {
	AccessToken  string `json:"accessToken"`
	TokenType    string `json:"tokenType"`
	RefreshToken string `json:"refreshToken"`
}

type accountJSON struct {
	ID    string `json:"id"`
	Role  string `json:"role"`
	Email string `json:"email"`
	Crm   *struct {
		Number string `json:"number"`
		Uf     string `json:"uf"`
	} `json:"crm"`
}

type errorJSON struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type            string `json:"@type"`
		Reason          string `json:"reason"`
		FieldViolations []struct {
			Field string `json:"field"`
		} `json:"fieldViolations"`
	} `json:"details"`
}

func TestMultiProcess_PatientAndDoctorJourneysOverREST(t *testing.T) {
	// Every verifier reads identity's list of ended sessions at each call (the bound of
	// the logout check below; 5 s by default).
	s := startStack(t, "-revoked-sessions-refresh=0")

	var reg struct{ Status, Account string }
	code, _ := s.rest("POST", "/v1/accounts/patients", "", map[string]string{
		"name": "Maria da Silva", "email": "Maria@Example.com", "cpf": "529.982.247-25",
		"password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1985-04-12",
	}, &reg)
	if code != http.StatusAccepted || reg.Status != "CHECK_EMAIL" || reg.Account != "" {
		t.Fatalf("register patient: %d %+v", code, reg)
	}
	s.verifyEmail("maria@example.com") // the link goes to the address as stored, lower-cased

	var login struct {
		Tokens      tokenPair
		Account     accountJSON
		DeviceToken string `json:"deviceToken"`
	}
	code, _ = s.rest("POST", "/v1/auth/login", "", map[string]string{"cpf": "52998224725", "password": "correct horse battery"}, &login)
	if code != http.StatusOK || login.Tokens.TokenType != "Bearer" || login.Account.Role != "ROLE_PATIENT" ||
		login.Account.Email != "maria@example.com" || login.DeviceToken == "" {
		t.Fatalf("login: %d %+v", code, login)
	}
	// The device token comes back in the next login's body and names a known device.
	device := login.DeviceToken
	code, _ = s.rest("POST", "/v1/auth/login", "", map[string]string{"email": "maria@example.com", "password": "correct horse battery", "deviceToken": device}, &login)
	if code != http.StatusOK || login.DeviceToken != device {
		t.Fatalf("login with the device token: %d %+v", code, login)
	}

	var me struct {
		Account accountJSON
		Patient struct{ Cpf, Phone, BirthDate string }
	}
	code, _ = s.rest("GET", "/v1/me", login.Tokens.AccessToken, nil, &me)
	if code != http.StatusOK || me.Account.ID != login.Account.ID || me.Patient.Cpf != "529.982.247-25" || me.Patient.BirthDate != "1985-04-12" {
		t.Fatalf("me: %d %+v", code, me)
	}

	var refreshed struct{ Tokens tokenPair }
	code, _ = s.rest("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": login.Tokens.RefreshToken}, &refreshed)
	if code != http.StatusOK || refreshed.Tokens.RefreshToken == login.Tokens.RefreshToken {
		t.Fatalf("refresh: %d %+v", code, refreshed)
	}
	if code, _ = s.rest("GET", "/v1/appointments", refreshed.Tokens.AccessToken, nil, nil); code != http.StatusOK {
		t.Fatalf("appointments before logout: %d", code)
	}
	code, _ = s.rest("POST", "/v1/auth/logout", "", map[string]string{"refreshToken": refreshed.Tokens.RefreshToken}, nil)
	if code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	// The access token, 15 minutes from expiry, ends with its session at every service.
	for _, path := range []string{"/v1/me", "/v1/appointments", "/v1/records/documents"} {
		var e errorJSON
		code, _ = s.rest("GET", path, refreshed.Tokens.AccessToken, nil, &e)
		if code != http.StatusUnauthorized || reason(e) != authn.ReasonSessionEnded.Name() {
			t.Errorf("GET %s after logout: %d %+v, want 401 SESSION_ENDED", path, code, e)
		}
	}
	var e errorJSON
	code, _ = s.rest("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": refreshed.Tokens.RefreshToken}, &e)
	if code != http.StatusUnauthorized || reason(e) != identity.ReasonSessionEnded.Name() {
		t.Errorf("refresh after logout: %d %+v", code, e)
	}

	// A doctor registers and logs in with CRM + UF.
	code, _ = s.rest("POST", "/v1/accounts/doctors", "", map[string]any{
		"name": "Dr. João Pereira", "crm": map[string]string{"number": "123456", "uf": "SP"},
		"email": "joao@clinica.com.br", "password": "doctor password 1",
	}, nil)
	if code != http.StatusAccepted {
		t.Fatalf("register doctor: %d", code)
	}
	code, _ = s.rest("POST", "/v1/auth/login", "", map[string]any{"crm": map[string]string{"number": "123456", "uf": "SP"}, "password": "doctor password 1"}, &login)
	if code != http.StatusOK || login.Account.Role != "ROLE_DOCTOR" || login.Account.Crm == nil || login.Account.Crm.Uf != "SP" {
		t.Fatalf("doctor login: %d %+v", code, login)
	}
}

func TestMultiProcess_ErrorsMapToHTTPStatusesWithDetails(t *testing.T) {
	s := startStack(t)

	var e errorJSON
	code, _ := s.rest("POST", "/v1/accounts/patients", "", map[string]string{"name": "M", "email": "x", "cpf": "1", "password": "short", "phone": "1", "birthDate": "x"}, &e)
	if code != http.StatusBadRequest || reason(e) != server.ReasonValidationFailed.Name() || len(violations(e)) != 6 {
		t.Errorf("validation: %d %+v", code, e)
	}
	for _, weak := range []string{"123456789012", "aaaaaaaaaaaa", "            "} {
		body := map[string]string{"name": "Ana", "email": "weak@example.com", "cpf": "123.456.789-09", "password": weak, "phone": "+5511987654321", "birthDate": "1990-01-01"}
		code, _ = s.rest("POST", "/v1/accounts/patients", "", body, &e)
		if code != http.StatusBadRequest || reason(e) != identity.ReasonPasswordTooWeak.Name() || len(violations(e)) != 1 {
			t.Errorf("weak password %q: %d %+v", weak, code, e)
		}
	}
	code, _ = s.rest("GET", "/v1/me", "", nil, &e)
	if code != http.StatusUnauthorized || reason(e) != authn.ReasonTokenMissing.Name() {
		t.Errorf("no token: %d %+v", code, e)
	}
	code, _ = s.rest("POST", "/v1/admin/signing-keys:rotate", "not.a.jwt", map[string]string{}, &e)
	if code != http.StatusUnauthorized || reason(e) != authn.ReasonTokenInvalid.Name() {
		t.Errorf("bad token: %d %+v", code, e)
	}
	body := map[string]string{"name": "Ana", "email": "ana@example.com", "cpf": "123.456.789-09", "password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1990-01-01"}
	s.rest("POST", "/v1/accounts/patients", "", body, nil)
	if code, _ = s.rest("POST", "/v1/accounts/patients", "", body, nil); code != http.StatusAccepted {
		t.Errorf("a taken address answers as a new one: %d, want 202", code)
	}
	var login struct{ Tokens tokenPair }
	s.rest("POST", "/v1/auth/login", "", map[string]string{"email": "ana@example.com", "password": "correct horse battery"}, &login)
	code, _ = s.rest("POST", "/v1/admin/signing-keys:rotate", login.Tokens.AccessToken, map[string]string{}, &e)
	if code != http.StatusForbidden || reason(e) != authn.ReasonRoleNotAllowed.Name() {
		t.Errorf("patient rotating keys: %d %+v", code, e)
	}
	code, _ = s.rest("POST", "/v1/auth/login", "", map[string]string{"email": "ana@example.com", "password": "x", "unknownField": "y"}, &e)
	if code != http.StatusBadRequest {
		t.Errorf("unknown JSON field: %d %+v", code, e)
	}
	var hdr http.Header
	for range 7 { // five free failures, a sixth that starts the backoff, then 429
		code, hdr = s.rest("POST", "/v1/auth/login", "", map[string]string{"email": "ana@example.com", "password": "wrong password"}, &e)
	}
	if code != http.StatusTooManyRequests || reason(e) != identity.ReasonLoginThrottled.Name() || hdr.Get("Retry-After") == "" {
		t.Errorf("throttled: %d Retry-After=%q %+v", code, hdr.Get("Retry-After"), e)
	}
}

func TestMultiProcess_GRPCClientsGetTheSameService(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()

	// A partner clinic with grpc-go, over TLS without a certificate of its own.
	conn, err := grpc.NewClient(s.addr["identity"], grpc.WithTransportCredentials(credentials.NewTLS(s.public())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	id := identityv1.NewIdentityServiceClient(conn)
	if _, err := id.RegisterPatient(ctx, &identityv1.RegisterPatientRequest{
		Name: "Maria da Silva", Email: "maria@example.com", Cpf: "52998224725", Password: "correct horse battery",
		Phone: "+5511987654321", BirthDate: "1985-04-12",
	}); err != nil {
		t.Fatal(err)
	}
	login, err := id.Login(ctx, &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: "maria@example.com"}, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+login.GetTokens().GetAccessToken())
	me, err := id.GetMe(authed, &identityv1.GetMeRequest{})
	if err != nil || me.GetPatient().GetCpf() != "529.982.247-25" {
		t.Fatalf("GetMe: %v %v", me, err)
	}
	next, err := id.Refresh(ctx, &identityv1.RefreshRequest{RefreshToken: login.GetTokens().GetRefreshToken()})
	if err != nil || next.GetTokens().GetAccessToken() == "" {
		t.Fatalf("Refresh: %v", err)
	}
	if _, err := id.Logout(ctx, &identityv1.LogoutRequest{RefreshToken: next.GetTokens().GetRefreshToken()}); err != nil {
		t.Fatal(err)
	}
	_, err = id.Refresh(ctx, &identityv1.RefreshRequest{RefreshToken: next.GetTokens().GetRefreshToken()})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("refresh after logout: %v", err)
	}
	_, err = id.RegisterPatient(ctx, &identityv1.RegisterPatientRequest{Name: "x"})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "email") {
		t.Errorf("validation over gRPC: %v", err)
	}

	// Internal tooling with a Connect client over gRPC.
	cid := identityv1connect.NewIdentityServiceClient(s.httpsClient(s.public()), "https://"+s.addr["identity"], connect.WithGRPC())
	jwks, err := cid.GetJwks(ctx, connect.NewRequest(&identityv1.GetJwksRequest{}))
	if err != nil || len(jwks.Msg.GetKeys()) != 1 {
		t.Fatalf("jwks: %v %v", jwks, err)
	}
}

func reason(e errorJSON) string {
	for _, d := range e.Details {
		if strings.HasSuffix(d.Type, "ErrorInfo") {
			return d.Reason
		}
	}
	return ""
}

func violations(e errorJSON) []string {
	var out []string
	for _, d := range e.Details {
		for _, v := range d.FieldViolations {
			out = append(out, v.Field)
		}
	}
	return out
}
