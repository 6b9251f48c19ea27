package identity

import (
	"context"
	"testing"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/testkit"
)

// A doctor's account carries duties that outlive it: it is not erased from the
// account itself, and stays as it was.
func TestEraseAccount_RefusesADoctorAndChangesNothing(t *testing.T) {
	f := newFixture(t, nil)
	doc := f.registerDoctor("123456", "SP")
	token := f.mustLogin(&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: "123456", Uf: "SP"}},
		Password: "doctor password 1"}).GetAccessToken()
	_, err := f.client.EraseAccount(context.Background(), testkit.Authed(&identityv1.EraseAccountRequest{Password: "doctor password 1"}, token))
	testkit.WantReason(t, err, ReasonErasureNotSelfService)
	me, err := f.me(token)
	if err != nil || me.GetAccount().GetName() != "Dr. João Pereira" || me.GetAccount().GetId() != doc.GetId() {
		t.Errorf("the doctor after a refused erasure: %v %v", me, err)
	}
}
