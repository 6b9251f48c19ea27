package identity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

func TestRegisterPatient_StoresPersonalFieldsSealedAndReturnsThemToTheOwner(t *testing.T) {
	f := newFixture(t, nil)
	acct := f.registerPatient("  Maria@Example.COM ", "529.982.247-25")
	if acct.GetRole() != accessv1.Role_ROLE_PATIENT || acct.GetEmail() != "maria@example.com" || acct.GetId() == "" {
		t.Fatalf("account = %v", acct)
	}

	var pii, cpfIndex []byte
	if err := f.db.QueryRow(context.Background(), `SELECT pii, cpf_index FROM accounts WHERE id = $1`, acct.GetId()).Scan(&pii, &cpfIndex); err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{"52998224725", "529.982.247-25", "+5511987654321", "1985-04-12"} {
		if bytes.Contains(pii, []byte(clear)) || bytes.Contains(cpfIndex, []byte(clear)) {
			t.Errorf("%q stored in the clear", clear)
		}
	}

	tok := f.mustLogin(emailLogin("maria@example.com", "correct horse battery"))
	me, err := f.me(tok.GetAccessToken())
	if err != nil {
		t.Fatal(err)
	}
	p := me.GetPatient()
	if p.GetCpf() != "529.982.247-25" || p.GetPhone() != "+5511987654321" || p.GetBirthDate() != "1985-04-12" {
		t.Errorf("GetMe patient = %v", p)
	}
	if me.GetAccount().GetId() != acct.GetId() {
		t.Errorf("GetMe account id = %s, want %s", me.GetAccount().GetId(), acct.GetId())
	}
}

func TestRegister_ValidationListsEveryViolationOverConnectAndGRPC(t *testing.T) {
	f := newFixture(t, nil)
	bad := &identityv1.RegisterPatientRequest{
		Name: "M", Email: "not-an-email", Cpf: "12", Password: "short", Phone: "11987654321", BirthDate: "12/04/1985",
	}
	for name, c := range map[string]func() error{
		"connect": func() error {
			_, err := f.client.RegisterPatient(context.Background(), connect.NewRequest(bad))
			return err
		},
		"grpc": func() error {
			_, err := f.grpc.RegisterPatient(context.Background(), connect.NewRequest(bad))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := c()
			testkit.WantReason(t, err, server.ReasonValidationFailed)
			got := violatedFields(t, err)
			want := []string{"birth_date", "cpf", "email", "name", "password", "phone"}
			if !slices.Equal(got, want) {
				t.Errorf("violations on %v, want %v", got, want)
			}
		})
	}
}

func TestRegisterDoctor_NestedViolationNamesThePath(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(doctorReq("123456", "XX", "a@b.com")))
	testkit.WantReason(t, err, server.ReasonValidationFailed)
	if got := violatedFields(t, err); !slices.Equal(got, []string{"crm.uf"}) {
		t.Errorf("violations on %v, want [crm.uf]", got)
	}
	_, err = f.client.RegisterDoctor(context.Background(), connect.NewRequest(&identityv1.RegisterDoctorRequest{
		Name: "Dr. X", Email: "x@y.com", Password: "long enough password",
	}))
	if got := violatedFields(t, err); !slices.Equal(got, []string{"crm"}) {
		t.Errorf("missing crm: violations on %v, want [crm]", got)
	}
}

func TestRegisterPatient_WrongCheckDigitsRefusedOnField(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.client.RegisterPatient(context.Background(), connect.NewRequest(patientReq("a@b.com", "529.982.247-24")))
	testkit.WantReason(t, err, ReasonCPFInvalid)
	if got := violatedFields(t, err); !slices.Equal(got, []string{"cpf"}) {
		t.Errorf("violations on %v", got)
	}
	_, err = f.client.RegisterPatient(context.Background(), connect.NewRequest(patientReq("b@b.com", "111.111.111-11")))
	testkit.WantReason(t, err, ReasonCPFInvalid)
}

func TestRegisterPatient_FutureBirthDateRefused(t *testing.T) {
	f := newFixture(t, nil)
	req := patientReq("a@b.com", "529.982.247-25")
	req.BirthDate = f.clock.Now().AddDate(0, 0, 1).Format("2006-01-02")
	_, err := f.client.RegisterPatient(context.Background(), connect.NewRequest(req))
	testkit.WantReason(t, err, ReasonBirthDateInvalid)
	req.BirthDate = "2023-02-30"
	_, err = f.client.RegisterPatient(context.Background(), connect.NewRequest(req))
	testkit.WantReason(t, err, ReasonBirthDateInvalid)
}

func TestRegister_DuplicatesRefusedWithoutSayingWhich(t *testing.T) {
	f := newFixture(t, nil)
	f.registerPatient("maria@example.com", "529.982.247-25")
	f.registerDoctor("123456", "SP")

	cases := map[string]func() error{
		"same e-mail, other case": func() error {
			_, err := f.client.RegisterPatient(context.Background(), connect.NewRequest(patientReq("MARIA@example.com", "123.456.789-09")))
			return err
		},
		"same CPF, other format": func() error {
			_, err := f.client.RegisterPatient(context.Background(), connect.NewRequest(patientReq("other@example.com", "52998224725")))
			return err
		},
		"same CRM and UF, leading zero": func() error {
			_, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(doctorReq("0123456", "SP", "x@y.com")))
			return err
		},
	}
	messages := map[string]bool{}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c()
			testkit.WantReason(t, err, ReasonAccountExists)
			messages[connect.NewError(connect.CodeUnknown, err).Message()] = true
		})
	}
	if len(messages) != 1 {
		t.Errorf("duplicate answers differ, revealing which detail is taken: %v", messages)
	}

	// The same CRM number in another UF is another doctor; a doctor may share a
	// patient's e-mail.
	if _, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(doctorReq("123456", "RJ", "rj@clinica.com.br"))); err != nil {
		t.Errorf("same number in another UF: %v", err)
	}
	if _, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(doctorReq("999", "MG", "maria@example.com"))); err != nil {
		t.Errorf("doctor with a patient's e-mail: %v", err)
	}
	var n int
	_ = f.db.QueryRow(context.Background(), `SELECT count(*) FROM accounts`).Scan(&n)
	if n != 4 {
		t.Errorf("%d accounts, want 4 (refusals must store nothing)", n)
	}
}

func violatedFields(t *testing.T, err error) []string {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("not a connect error: %v", err)
	}
	var fields []string
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			t.Fatal(derr)
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				fields = append(fields, fv.GetField())
				if fv.GetDescription() == "" {
					t.Errorf("violation on %s has no description", fv.GetField())
				}
			}
		}
	}
	slices.Sort(fields)
	return fields
}

func TestRegisterDoctor_CRMValidation(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		number, uf string
		bad        []string
	}{
		{"123456", "SP", nil},
		{"1", "TO", nil},
		{"12345678", "DF", nil},
		{"", "SP", []string{"crm.number"}},
		{"12a456", "SP", []string{"crm.number"}},
		{"123456789", "SP", []string{"crm.number"}},
		{"123456", "sp", []string{"crm.uf"}},
		{"123456", "XX", []string{"crm.uf"}},
		{"-1", "", []string{"crm.number", "crm.uf"}},
	}
	for i, tt := range tests {
		t.Run(tt.number+"/"+tt.uf, func(t *testing.T) {
			req := doctorReq(tt.number, tt.uf, fmt.Sprintf("doc%d@clinica.com.br", i))
			resp, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(req))
			if tt.bad == nil {
				if err != nil {
					t.Fatal(err)
				}
				if crm := resp.Msg.GetAccount().GetCrm(); crm.GetNumber() != tt.number || crm.GetUf() != tt.uf {
					t.Errorf("crm = %v", crm)
				}
				return
			}
			testkit.WantReason(t, err, server.ReasonValidationFailed)
			if got := violatedFields(t, err); !slices.Equal(got, tt.bad) {
				t.Errorf("violations on %v, want %v", got, tt.bad)
			}
		})
	}
}

func TestRegister_IsLimitedPerClientAddress(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Register = RegisterLimit{PerAddress: 3, Window: time.Hour} })
	from := func(addr string, req *identityv1.RegisterPatientRequest) error {
		r := connect.NewRequest(req)
		r.Header().Set("X-Forwarded-For", addr) // the test client is a trusted proxy
		_, err := f.client.RegisterPatient(context.Background(), r)
		return err
	}
	fromDoctor := func(addr string, req *identityv1.RegisterDoctorRequest) error {
		r := connect.NewRequest(req)
		r.Header().Set("X-Forwarded-For", addr)
		_, err := f.client.RegisterDoctor(context.Background(), r)
		return err
	}
	const attacker = "203.0.113.7"
	if err := from(attacker, patientReq("a@example.com", "529.982.247-25")); err != nil {
		t.Fatal(err)
	}
	// Failed registrations count too: each one probes whether a detail is taken.
	testkit.WantReason(t, from(attacker, patientReq("a@example.com", "123.456.789-09")), ReasonAccountExists)
	f.clock.Advance(20 * time.Minute)
	if err := fromDoctor(attacker, doctorReq("123456", "SP", "doc@example.com")); err != nil {
		t.Fatal(err)
	}
	err := from(attacker, patientReq("b@example.com", "111.444.777-35"))
	testkit.WantReason(t, err, ReasonRegistrationThrottled)
	if got := testkit.RetryAfter(t, err); got != 40*time.Minute {
		t.Errorf("retry after %v, want the 40m left of the window", got)
	}
	testkit.WantReason(t, fromDoctor(attacker, doctorReq("654321", "RJ", "doc2@example.com")), ReasonRegistrationThrottled)
	// An IPv6 client is one client across its /64.
	for i := range 3 {
		_ = fromDoctor(fmt.Sprintf("2001:db8:1:2::%x", i+1), doctorReq(fmt.Sprintf("70000%d", i), "MG", fmt.Sprintf("v6-%d@example.com", i)))
	}
	testkit.WantReason(t, from("2001:db8:1:2:ffff::9", patientReq("c@example.com", "111.444.777-35")), ReasonRegistrationThrottled)

	if err := from("198.51.100.1", patientReq("b@example.com", "111.444.777-35")); err != nil {
		t.Errorf("another address is limited too: %v", err)
	}
	var accounts int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM accounts`).Scan(&accounts); err != nil {
		t.Fatal(err)
	}
	if accounts != 6 { // 2 from the attacker, 3 from the IPv6 block, 1 from elsewhere
		t.Errorf("%d accounts, want 6: a refused registration left one behind", accounts)
	}
	f.clock.Advance(40 * time.Minute) // the window ends
	if err := from(attacker, patientReq("d@example.com", "390.533.447-05")); err != nil {
		t.Errorf("after the window: %v", err)
	}
}
