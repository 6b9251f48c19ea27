package identity

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pgtest"
)

// storeDB is a fresh identity database without a service over it.
func storeDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return pgtest.Pool(t, Schema.Name, Schema)
}

func newAccountRow(role accessv1.Role, email string) account {
	return account{
		ID: uuid.Must(uuid.NewV7()).String(), Role: role, Name: "Maria da Silva", Email: email,
		PasswordHash: "$argon2id$stub", CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

func patientRow(email string) account {
	a := newAccountRow(accessv1.Role_ROLE_PATIENT, email)
	a.PII = []byte("sealed pii of " + email)
	return a
}

func doctorRow(email, crmNumber, uf string) account {
	a := newAccountRow(accessv1.Role_ROLE_DOCTOR, email)
	a.CRMNumber, a.CRMUF = crmNumber, uf
	return a
}

func TestAccountStore_InsertThenFindByEachLogin(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), accountStore{}
	patient, doctor := patientRow("maria@example.com"), doctorRow("joao@clinica.com.br", "123456", "SP")
	admin := newAccountRow(accessv1.Role_ROLE_ADMIN, "ops@example.com")
	for _, a := range []struct {
		a   account
		idx []byte
	}{{patient, []byte("cpf-index")}, {doctor, nil}, {admin, nil}} {
		if err := st.insert(ctx, db, a.a, a.idx); err != nil {
			t.Fatalf("insert %v: %v", a.a.Role, err)
		}
	}

	same := func(what string, got account, ok bool, err error, want account) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("%s: ok=%v err=%v", what, ok, err)
		}
		if got.ID != want.ID || got.Role != want.Role || got.Name != want.Name || got.Email != want.Email ||
			got.PasswordHash != want.PasswordHash || got.CRMNumber != want.CRMNumber || got.CRMUF != want.CRMUF ||
			!bytes.Equal(got.PII, want.PII) || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("%s = %+v, want %+v", what, got, want)
		}
	}
	a, ok, err := st.get(ctx, db, doctor.ID)
	same("get doctor", a, ok, err, doctor)
	a, ok, err = st.findByLoginEmail(ctx, db, "maria@example.com")
	same("patient by e-mail", a, ok, err, patient)
	a, ok, err = st.findByLoginEmail(ctx, db, "ops@example.com")
	same("admin by e-mail", a, ok, err, admin)
	a, ok, err = st.findByCPFIndex(ctx, db, []byte("cpf-index"))
	same("patient by CPF index", a, ok, err, patient)
	ds, err := st.findDoctorsByCRM(ctx, db, "123456", "SP")
	if len(ds) != 1 {
		t.Fatalf("doctors by CRM = %+v (%v), want one", ds, err)
	}
	same("doctor by CRM", ds[0], true, err, doctor)
	if ds, err := st.findDoctorsByCRM(ctx, db, "123456", "RJ"); err != nil || len(ds) != 0 {
		t.Errorf("CRM in another UF: found %+v (%v)", ds, err)
	}

	for name, find := range map[string]func() (account, bool, error){
		"unknown id":             func() (account, bool, error) { return st.get(ctx, db, uuid.NewString()) },
		"doctor's e-mail":        func() (account, bool, error) { return st.findByLoginEmail(ctx, db, "joao@clinica.com.br") },
		"unknown CPF index":      func() (account, bool, error) { return st.findByCPFIndex(ctx, db, []byte("other")) },
		"e-mail in another case": func() (account, bool, error) { return st.findByLoginEmail(ctx, db, "Maria@example.com") },
	} {
		if a, ok, err := find(); err != nil || ok {
			t.Errorf("%s: found %+v (ok=%v, err=%v)", name, a, ok, err)
		}
	}
}

func TestAccountStore_InsertRefusesEveryTakenDetailAsAccountExists(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), accountStore{}
	patient, doctor := patientRow("maria@example.com"), doctorRow("joao@clinica.com.br", "123456", "SP")
	doctor.DoctorStatus = doctorVerified
	if err := st.insert(ctx, db, patient, []byte("idx")); err != nil {
		t.Fatal(err)
	}
	if err := st.insert(ctx, db, doctor, nil); err != nil {
		t.Fatal(err)
	}

	sameEmail := newAccountRow(accessv1.Role_ROLE_ADMIN, "maria@example.com")
	sameCPF, sameCRM := patientRow("other@example.com"), doctorRow("x@clinica.com.br", "123456", "SP")
	sameCRM.DoctorStatus = doctorVerified
	for name, c := range map[string]struct {
		a   account
		idx []byte
	}{"e-mail of a patient, for an admin": {sameEmail, nil}, "CPF": {sameCPF, []byte("idx")}, "CRM and UF, verified twice": {sameCRM, nil}} {
		if err := st.insert(ctx, db, c.a, c.idx); !errs.Has(err, ReasonAccountExists) {
			t.Errorf("%s taken: err = %v, want ACCOUNT_EXISTS", name, err)
		}
	}
	// A pending claim of a CRM competes with the holder's until an operator decides.
	if err := st.insert(ctx, db, doctorRow("y@clinica.com.br", "123456", "SP"), nil); err != nil {
		t.Errorf("pending claim of a held CRM: %v", err)
	}
	// A doctor's e-mail is its own namespace: a patient may use the same address.
	if err := st.insert(ctx, db, patientRow("joao@clinica.com.br"), []byte("idx2")); err != nil {
		t.Errorf("patient with a doctor's e-mail: %v", err)
	}
}

func TestAccountStore_SetPasswordHash(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), accountStore{}
	a := newAccountRow(accessv1.Role_ROLE_ADMIN, "ops@example.com")
	if err := st.insert(ctx, db, a, nil); err != nil {
		t.Fatal(err)
	}
	at := a.CreatedAt.Add(time.Hour)
	if err := st.setPasswordHash(ctx, db, a.ID, "$argon2id$new", at); err != nil {
		t.Fatal(err)
	}
	got, _, err := st.get(ctx, db, a.ID)
	if err != nil || got.PasswordHash != "$argon2id$new" {
		t.Fatalf("hash = %q (%v)", got.PasswordHash, err)
	}
	var updated time.Time
	if err := db.QueryRow(ctx, `SELECT updated_at FROM accounts WHERE id = $1`, a.ID).Scan(&updated); err != nil || !updated.Equal(at) {
		t.Errorf("updated_at = %v (%v), want %v", updated, err, at)
	}
	if err := st.setPasswordHash(ctx, db, uuid.NewString(), "x", at); err == nil {
		t.Error("an unknown account's hash was set")
	}
}
