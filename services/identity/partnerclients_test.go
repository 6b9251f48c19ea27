package identity_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	accessv1 "healthcore/gen/healthcore/access/v1"
	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/errs"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/clinics"
	"healthcore/services/identity"
	"healthcore/services/identity/identitytest"
)

type partnerFixture struct {
	*identitytest.Identity
	t     *testing.T
	db    *pgxpool.Pool
	users *testkit.Users
}

func newPartnerFixture(t *testing.T) *partnerFixture {
	db := pgtest.Pool(t, identity.Schema.Name, identity.Schema)
	users := testkit.NewUsers(t)
	return &partnerFixture{Identity: identitytest.Start(t, db, identitytest.Options{Users: users}), t: t, db: db, users: users}
}

// auditActions lists the audit log's actions about subject, in order.
func (f *partnerFixture) auditActions(subject string) []string {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT action FROM audit_log WHERE subject_id = $1 ORDER BY id`, subject)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *partnerFixture) create(clinicID string, scopes ...string) *identityv1.CreatePartnerClientResponse {
	f.t.Helper()
	resp, err := f.Client.CreatePartnerClient(context.Background(), testkit.Authed(&identityv1.CreatePartnerClientRequest{
		ClinicId: clinicID, Name: "Clínica Sol — agenda", Scopes: scopes}, f.AdminToken()))
	if err != nil {
		f.t.Fatalf("create partner client: %v", err)
	}
	return resp.Msg
}

func (f *partnerFixture) token(clientID, secret, scope string) (*identityv1.IssuePartnerTokenResponse, error) {
	resp, err := f.Client.IssuePartnerToken(context.Background(), connect.NewRequest(&identityv1.IssuePartnerTokenRequest{
		ClientId: clientID, ClientSecret: secret, Scope: scope}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// principal is what a service verifying the token sees.
func (f *partnerFixture) principal(token string) authn.Principal {
	f.t.Helper()
	p, err := authn.NewVerifier(f.Service.KeySource()).Verify(context.Background(), token)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// revoked reports whether the services' list of ended sessions names sid.
func (f *partnerFixture) revoked(sid string) bool {
	f.t.Helper()
	resp, err := f.As("records").ListRevokedSessions(context.Background(), connect.NewRequest(&identityv1.ListRevokedSessionsRequest{}))
	if err != nil {
		f.t.Fatal(err)
	}
	return slices.ContainsFunc(resp.Msg.GetSessions(), func(s *identityv1.RevokedSession) bool { return s.GetSessionId() == sid })
}

func TestPartnerClients_ATokenNamesTheClientItsClinicAndTheScopesGranted(t *testing.T) {
	f := newPartnerFixture(t)
	clinic := uuid.NewString()
	c := f.create(clinic, "appointments.read", "agenda.read", "directory.read")
	if got := c.GetClient().GetScopes(); !slices.Equal(got, []string{"directory.read", "agenda.read", "appointments.read"}) {
		t.Errorf("scopes = %v, want them in the fixed set's order", got)
	}
	if len(c.GetClientSecret()) != 43 || c.GetSecretId() == "" {
		t.Errorf("secret %q (id %q): want 32 bytes in base64url (43 characters) and an id", c.GetClientSecret(), c.GetSecretId())
	}
	id := c.GetClient().GetClientId()

	all, err := f.token(id, c.GetClientSecret(), "")
	if err != nil {
		t.Fatal(err)
	}
	p := f.principal(all.GetAccessToken())
	if p.Role != accessv1.Role_ROLE_PARTNER || p.ClientID != id || p.ClinicID != clinic || p.SessionID != c.GetSecretId() || p.UserID != "" ||
		!slices.Equal(p.Scopes, []string{"directory.read", "agenda.read", "appointments.read"}) {
		t.Errorf("principal = %+v, want the client, its clinic, every scope and the secret as session", p)
	}
	if all.GetScope() != "directory.read agenda.read appointments.read" || all.GetExpiresIn() != 600 {
		t.Errorf("scope %q, expires in %d: want every scope, 600 s", all.GetScope(), all.GetExpiresIn())
	}

	some, err := f.token(id, c.GetClientSecret(), "appointments.read  agenda.read")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.principal(some.GetAccessToken()).Scopes; !slices.Equal(got, []string{"agenda.read", "appointments.read"}) || some.GetScope() != "agenda.read appointments.read" {
		t.Errorf("asked two scopes, granted %v (%q)", got, some.GetScope())
	}

	_, err = f.token(id, c.GetClientSecret(), "agenda.read agenda.write")
	testkit.WantReason(t, err, identity.ReasonScopeInvalid)
}

func TestPartnerClients_AWrongIdOrSecretIsTheSameRefusal(t *testing.T) {
	f := newPartnerFixture(t)
	a := f.create(uuid.NewString(), "directory.read")
	b := f.create(uuid.NewString(), "agenda.write")
	for name, try := range map[string][2]string{
		"wrong secret":         {a.GetClient().GetClientId(), b.GetClientSecret()[:42] + "A"},
		"another client's":     {a.GetClient().GetClientId(), b.GetClientSecret()},
		"unknown client":       {uuid.NewString(), a.GetClientSecret()},
		"no secret":            {a.GetClient().GetClientId(), ""},
		"the secret as the id": {a.GetClientSecret(), a.GetClientSecret()},
	} {
		_, err := f.token(try[0], try[1], "")
		if !errs.Has(err, identity.ReasonClientInvalid) {
			t.Errorf("%s: %v, want CLIENT_INVALID", name, err)
		}
	}
}

func TestPartnerClients_SecretRotationKeepsBothSecretsWorkingUntilTheOldIsRevoked(t *testing.T) {
	f := newPartnerFixture(t)
	ctx := context.Background()
	c := f.create(uuid.NewString(), "agenda.read")
	id := c.GetClient().GetClientId()
	old, oldID := c.GetClientSecret(), c.GetSecretId()
	oldToken, err := f.token(id, old, "")
	if err != nil {
		t.Fatal(err)
	}

	added, err := f.Client.AddPartnerClientSecret(ctx, testkit.Authed(&identityv1.AddPartnerClientSecretRequest{ClientId: id}, f.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	next, nextID := added.Msg.GetClientSecret(), added.Msg.GetSecretId()
	for name, secret := range map[string]string{"old": old, "new": next} {
		if _, err := f.token(id, secret, ""); err != nil {
			t.Errorf("the %s secret while both are active: %v", name, err)
		}
	}
	// A third is refused: two at most.
	_, err = f.Client.AddPartnerClientSecret(ctx, testkit.Authed(&identityv1.AddPartnerClientSecretRequest{ClientId: id}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonClientSecretLimit)

	rev, err := f.Client.RevokePartnerClientSecret(ctx, testkit.Authed(&identityv1.RevokePartnerClientSecretRequest{ClientId: id, SecretId: oldID}, f.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.token(id, old, "")
	testkit.WantReason(t, err, identity.ReasonClientInvalid)
	if _, err := f.token(id, next, ""); err != nil {
		t.Errorf("the new secret after the old one's revocation: %v", err)
	}
	// The old secret's tokens end everywhere: its id is listed as an ended session.
	if f.principal(oldToken.GetAccessToken()).SessionID != oldID || !f.revoked(oldID) || f.revoked(nextID) {
		t.Errorf("revoked list: old %v, new %v; want the old secret's id only", f.revoked(oldID), f.revoked(nextID))
	}
	secrets := rev.Msg.GetClient().GetSecrets()
	if len(secrets) != 2 || secrets[0].GetSecretId() != nextID || secrets[0].GetRevokeTime() != nil || secrets[1].GetRevokeTime() == nil {
		t.Errorf("secrets after revoking the old = %v, want the new active, the old revoked", secrets)
	}
	// Revoking again answers the same; a secret of no such id is NOT_FOUND.
	if _, err := f.Client.RevokePartnerClientSecret(ctx, testkit.Authed(&identityv1.RevokePartnerClientSecretRequest{ClientId: id, SecretId: oldID}, f.AdminToken())); err != nil {
		t.Errorf("revoking again: %v", err)
	}
	_, err = f.Client.RevokePartnerClientSecret(ctx, testkit.Authed(&identityv1.RevokePartnerClientSecretRequest{ClientId: id, SecretId: uuid.NewString()}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonSecretNotFound)

	// Revoking the client ends its last secret and refuses new ones.
	if _, err := f.Client.RevokePartnerClient(ctx, testkit.Authed(&identityv1.RevokePartnerClientRequest{ClientId: id}, f.AdminToken())); err != nil {
		t.Fatal(err)
	}
	_, err = f.token(id, next, "")
	testkit.WantReason(t, err, identity.ReasonClientInvalid)
	if !f.revoked(nextID) {
		t.Error("the client's revocation did not list its last secret as ended")
	}
	_, err = f.Client.AddPartnerClientSecret(ctx, testkit.Authed(&identityv1.AddPartnerClientSecretRequest{ClientId: id}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonClientRevoked)
	_, err = f.Client.AddPartnerClientSecret(ctx, testkit.Authed(&identityv1.AddPartnerClientSecretRequest{ClientId: uuid.NewString()}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonClientNotFound)
}

// Concurrent additions to a client with one active secret: exactly one wins the
// second place.
func TestPartnerClients_ConcurrentSecretsNeverExceedTwo(t *testing.T) {
	f := newPartnerFixture(t)
	id := f.create(uuid.NewString(), "agenda.read").GetClient().GetClientId()
	var wg sync.WaitGroup
	results := make([]error, 4)
	for i := range results {
		wg.Go(func() {
			_, results[i] = f.Client.AddPartnerClientSecret(context.Background(),
				testkit.Authed(&identityv1.AddPartnerClientSecretRequest{ClientId: id}, f.AdminToken()))
		})
	}
	wg.Wait()
	won := 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case !errs.Has(err, identity.ReasonClientSecretLimit):
			t.Errorf("a concurrent addition: %v, want CLIENT_SECRET_LIMIT", err)
		}
	}
	list, err := f.Client.ListPartnerClients(context.Background(), testkit.Authed(&identityv1.ListPartnerClientsRequest{}, f.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	if won != 1 || len(list.Msg.GetClients()) != 1 || len(list.Msg.GetClients()[0].GetSecrets()) != 2 {
		t.Errorf("%d additions won, clients %v; want one, and two secrets", won, list.Msg.GetClients())
	}
}

// Operators alone manage clients, with a second factor; every change is in identity's
// audit log with the client as subject.
func TestPartnerClients_OperatorsWithASecondFactorManageThemAndEachChangeIsAudited(t *testing.T) {
	f := newPartnerFixture(t)
	ctx := context.Background()
	req := &identityv1.CreatePartnerClientRequest{ClinicId: uuid.NewString(), Name: "Clínica", Scopes: []string{"agenda.read"}}
	pwdOnly := f.users.SignPrincipal(authn.Principal{UserID: uuid.NewString(), Role: accessv1.Role_ROLE_ADMIN, AMR: []string{"pwd"}})
	_, err := f.Client.CreatePartnerClient(ctx, testkit.Authed(req, pwdOnly))
	testkit.WantReason(t, err, authn.ReasonMFARequired)

	c := f.create(req.GetClinicId(), "agenda.read")
	id := c.GetClient().GetClientId()
	if _, err := f.Client.AddPartnerClientSecret(ctx, testkit.Authed(&identityv1.AddPartnerClientSecretRequest{ClientId: id}, f.AdminToken())); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Client.RevokePartnerClientSecret(ctx, testkit.Authed(&identityv1.RevokePartnerClientSecretRequest{ClientId: id, SecretId: c.GetSecretId()}, f.AdminToken())); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Client.RevokePartnerClient(ctx, testkit.Authed(&identityv1.RevokePartnerClientRequest{ClientId: id}, f.AdminToken())); err != nil {
		t.Fatal(err)
	}
	got := f.auditActions(id)
	want := []string{"partner_client.create", "partner_client.add_secret", "partner_client.revoke_secret", "partner_client.revoke"}
	if !slices.Equal(got, want) {
		t.Errorf("audit of the client = %v, want %v", got, want)
	}
	// A partner token calls none of identity's operator or user RPCs.
	other := f.create(uuid.NewString(), "directory.read", "agenda.write", "appointments.answer", "events.manage")
	tok, err := f.token(other.GetClient().GetClientId(), other.GetClientSecret(), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Client.ListPartnerClients(ctx, testkit.Authed(&identityv1.ListPartnerClientsRequest{}, tok.GetAccessToken()))
	testkit.WantReason(t, err, authn.ReasonPartnerNotAllowed)
	_, err = f.Client.GetMe(ctx, testkit.Authed(&identityv1.GetMeRequest{}, tok.GetAccessToken()))
	testkit.WantReason(t, err, authn.ReasonPartnerNotAllowed)
	// Nor an internal one, whatever its scopes.
	_, err = f.Client.GetDoctorStatus(ctx, testkit.Authed(&identityv1.GetDoctorStatusRequest{DoctorId: uuid.NewString()}, tok.GetAccessToken()))
	testkit.WantReason(t, err, authn.ReasonPartnerNotAllowed)
	_, err = f.Client.ListRevokedSessions(ctx, testkit.Authed(&identityv1.ListRevokedSessionsRequest{}, tok.GetAccessToken()))
	testkit.WantReason(t, err, authn.ReasonPartnerNotAllowed)
}

// With the clinics service wired, an operator creates a client only for a clinic that
// exists; each token issued is audited with its client and secret.
func TestPartnerClients_OnlyForAClinicThatExists_TokensAudited(t *testing.T) {
	users := testkit.NewUsers(t)
	svc, err := clinics.New(clinics.Deps{DB: pgtest.Pool(t, clinics.Schema.Name, clinics.Schema), Logger: testkit.Logger(t),
		Envelope: envelope.New(testkit.Keys(t, "clinics"), envelope.Defaults)}, clinics.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	clinicsURL := testkit.Serve(t, users.Interceptor("clinics"), func(s *server.Server) { s.Handle(svc.Handler(s.HandlerOptions()...)) })
	db := pgtest.Pool(t, identity.Schema.Name, identity.Schema)
	id := identitytest.Start(t, db, identitytest.Options{Users: users, Deps: func(d *identity.Deps) {
		d.Clinics = clinicsv1connect.NewClinicsServiceClient(testkit.HTTPClient(t), clinicsURL, connect.WithGRPC(),
			connect.WithInterceptors(testkit.Caller("identity")))
	}})
	f := &partnerFixture{Identity: id, t: t, db: db, users: users}
	ctx := context.Background()
	created, err := clinicsv1connect.NewClinicsServiceClient(testkit.HTTPClient(t), clinicsURL).CreateClinic(ctx, testkit.Authed(
		&clinicsv1.CreateClinicRequest{Cnpj: "11.222.333/0001-81", Name: "Clínica Sol", Email: "contato@sol.com.br", Phone: "+551133334444"},
		f.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Client.CreatePartnerClient(ctx, testkit.Authed(&identityv1.CreatePartnerClientRequest{
		ClinicId: uuid.NewString(), Name: "Clínica fantasma", Scopes: []string{"agenda.read"}}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonClinicNotFound)

	c := f.create(created.Msg.GetClinic().GetClinicId(), "agenda.read", "appointments.read")
	if c.GetClient().GetClinicId() != created.Msg.GetClinic().GetClinicId() {
		t.Errorf("the client's clinic = %s", c.GetClient().GetClinicId())
	}
	if _, err := f.token(c.GetClient().GetClientId(), c.GetClientSecret(), "agenda.read"); err != nil {
		t.Fatal(err)
	}
	var actor, role, subject string
	if err := db.QueryRow(ctx, `SELECT actor_id::text, actor_role, subject_id::text FROM audit_log
		WHERE action = 'partner_client.issue_token'`).Scan(&actor, &role, &subject); err != nil {
		t.Fatal(err)
	}
	if actor != c.GetClient().GetClientId() || role != "partner" || subject != c.GetSecretId() {
		t.Errorf("the token's audit row: actor %s (%s), subject %s; want the client, partner, the secret", actor, role, subject)
	}
}
