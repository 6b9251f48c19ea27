package identity

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

func TestGetPayer_GivesServicesThePatientsChargeDetailsAndAuditsIt(t *testing.T) {
	f := newFixture(t, nil)
	acct := f.registerPatient("maria@example.com", "529.982.247-25")
	doctor := f.registerDoctor("12345", "SP")

	svc := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), f.url,
		connect.WithInterceptors(testkit.Caller("payments")))
	resp, err := svc.GetPayer(context.Background(), connect.NewRequest(&identityv1.GetPayerRequest{AccountId: acct.GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	want := &identityv1.GetPayerResponse{FirstName: "Maria", LastName: "da Silva", Email: "maria@example.com", Cpf: "52998224725"}
	if got := resp.Msg; got.GetFirstName() != want.FirstName || got.GetLastName() != want.LastName ||
		got.GetEmail() != want.Email || got.GetCpf() != want.Cpf {
		t.Fatalf("GetPayer = %v, want %v", got, want)
	}
	var audited int
	if err := f.db.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'account.read_payer' AND subject_id = $1`, acct.GetId()).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != 1 {
		t.Errorf("audit rows = %d, want 1", audited)
	}

	_, err = svc.GetPayer(context.Background(), connect.NewRequest(&identityv1.GetPayerRequest{AccountId: doctor.GetId()}))
	testkit.WantReason(t, err, ReasonNotAPatient)

	// A patient's own token is refused: the method is internal.
	tok := f.mustLogin(emailLogin("maria@example.com", "correct horse battery"))
	req := connect.NewRequest(&identityv1.GetPayerRequest{AccountId: acct.GetId()})
	req.Header().Set("Authorization", "Bearer "+tok.GetAccessToken())
	_, err = f.client.GetPayer(context.Background(), req)
	testkit.WantReason(t, err, authn.ReasonServiceOnly)

	// Only payments may read a patient's CPF: another service is refused.
	other := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), f.url,
		connect.WithInterceptors(testkit.Caller("scheduling")))
	_, err = other.GetPayer(context.Background(), connect.NewRequest(&identityv1.GetPayerRequest{AccountId: acct.GetId()}))
	testkit.WantReason(t, err, authn.ReasonCallerNotAllowed)
}
