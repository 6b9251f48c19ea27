package identity

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

func TestCreateAdmin_LogsInByEmailAndMayRotateKeysWithASecondFactor(t *testing.T) {
	f := newFixture(t, nil)
	id, err := CreateAdmin(context.Background(), f.db, f.svc.cfg, "Ops", "Ops@Healthcore.example", "a long admin password", f.svc.env)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.login(emailLogin("ops@healthcore.example", "a long admin password"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAccount().GetId() != id || resp.GetAccount().GetRole() != accessv1.Role_ROLE_ADMIN {
		t.Fatalf("logged in as %v", resp.GetAccount())
	}
	old := f.svc.keys.signingKey().KID
	// An operator needs a second factor: the password alone does not rotate.
	_, err = f.client.RotateSigningKey(context.Background(), authed(resp.GetTokens().GetAccessToken(), &identityv1.RotateSigningKeyRequest{}))
	testkit.WantReason(t, err, authn.ReasonMFARequired)
	_, _, tokens := f.enableTOTP(resp.GetTokens().GetAccessToken())
	rot, err := f.client.RotateSigningKey(context.Background(), authed(tokens.GetAccessToken(), &identityv1.RotateSigningKeyRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if rot.Msg.GetKid() == old || rot.Msg.GetKid() != f.svc.keys.signingKey().KID {
		t.Errorf("rotated to %s, active %s, old %s", rot.Msg.GetKid(), f.svc.keys.signingKey().KID, old)
	}
}

func TestCreateAdmin_AdminsAndPatientsNeverShareAnEmail(t *testing.T) {
	f := newFixture(t, nil)
	f.registerPatient("maria@example.com", "529.982.247-25")
	_, err := CreateAdmin(context.Background(), f.db, f.svc.cfg, "Ops", "maria@example.com", "a long admin password", f.svc.env)
	if !errs.Has(err, ReasonAccountExists) {
		t.Fatalf("admin with a patient's e-mail: %v", err)
	}

	if _, err := CreateAdmin(context.Background(), f.db, f.svc.cfg, "Ops", "ops@example.com", "a long admin password", f.svc.env); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.RegisterPatient(context.Background(), connect.NewRequest(patientReq("ops@example.com", "123.456.789-09")))
	testkit.WantReason(t, err, ReasonAccountExists)

	for _, bad := range [][3]string{{"O", "a@b.com", "a long admin password"}, {"Ops", "not an address", "a long admin password"}, {"Ops", "x@y.com", "short"}} {
		if _, err := CreateAdmin(context.Background(), f.db, f.svc.cfg, bad[0], bad[1], bad[2], f.svc.env); err == nil {
			t.Errorf("CreateAdmin%v accepted", bad)
		}
	}
}

func TestCreateAdmin_ChainsItsEntryAndNeedsTheKeysService(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := CreateAdmin(context.Background(), f.db, f.svc.cfg, "Ops", "ops@example.com", "a long admin password", nil); err == nil {
		t.Error("an admin was created without the keys service")
	}
	if _, err := CreateAdmin(context.Background(), f.db, f.svc.cfg, "Ops", "ops@example.com", "a long admin password", f.svc.env); err != nil {
		t.Fatal(err)
	}
	f.registerDoctor("123456", "SP") // the service chains after the admin's entry
	if rep := f.verifyChain(); !rep.OK() || rep.Checked != 2 {
		t.Errorf("report = %s; want 2 rows, intact", rep)
	}
}

func TestCreateAdmin_OnAFreshDatabaseCreatesTheChainSecretTheServiceThenUses(t *testing.T) {
	db, ctx := storeDB(t), context.Background()
	env := envelope.New(testkit.Keys(t, "identity"), envelope.Defaults)
	cfg := DefaultConfig()
	cfg.Argon2 = testArgon2
	if _, err := CreateAdmin(ctx, db, cfg, "Ops", "ops@example.com", "a long admin password", env); err != nil {
		t.Fatal(err)
	}
	svc, err := New(ctx, Deps{DB: db, Envelope: env, Logger: testkit.Logger(t)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.audit(ctx, db, actRead, "", "", outcomeOK); err != nil {
		t.Fatal(err)
	}
	rep, err := VerifyAuditChain(ctx, db, env)
	if err != nil || !rep.OK() || rep.Checked != 2 {
		t.Errorf("report = %s, %v; want 2 rows, intact", rep, err)
	}
}
