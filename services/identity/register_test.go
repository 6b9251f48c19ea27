package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/pg"
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

// rawAnswer is a registration's HTTP answer as a client sees it, byte for byte.
type rawAnswer struct {
	status int
	body   string
	header http.Header
}

// registerRaw posts a registration as Connect JSON and returns the raw answer, without
// the headers that differ for every answer whatever it says (the date, the random
// request id).
func (f *fixture) registerRaw(method string, body any) rawAnswer {
	f.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := testkit.HTTPClient(f.t).Post(f.url+"/healthcore.identity.v1.IdentityService/"+method, "application/json", bytes.NewReader(raw))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("X-Request-Id")
	return rawAnswer{resp.StatusCode, string(b), h}
}

func patientBody(email, cpf string) map[string]string {
	return map[string]string{"name": "Maria da Silva", "email": email, "cpf": cpf, "password": "correct horse battery",
		"phone": "+5511987654321", "birthDate": "1985-04-12"}
}

func doctorBody(number, uf, email string) map[string]any {
	return map[string]any{"name": "Dr. João Pereira", "crm": map[string]string{"number": number, "uf": uf}, "email": email,
		"password": "doctor password 1"}
}

func TestRegister_TakenDetailsAnswerByteForByteLikeANewAccount_AndTheOwnerIsTold(t *testing.T) {
	f := newFixture(t, nil)
	maria := f.registerPatient("maria@example.com", "529.982.247-25")
	doctor := f.registerDoctor("123456", "SP")
	if _, err := f.db.Exec(context.Background(), `UPDATE accounts SET doctor_status = 'verified' WHERE id = $1`, doctor.GetId()); err != nil {
		t.Fatal(err)
	}
	before := f.notices()

	fresh := f.registerRaw("RegisterPatient", patientBody("nova@example.com", "111.444.777-35"))
	if fresh.status != http.StatusOK || fresh.header.Get(server.HTTPStatusHeader) != "202" ||
		!strings.Contains(fresh.body, `"status":"CHECK_EMAIL"`) || strings.Contains(fresh.body, "id") {
		t.Fatalf("a new patient's answer = %+v, want CHECK_EMAIL for HTTP 202 and no id", fresh)
	}
	for name, got := range map[string]rawAnswer{
		"new doctor":                   f.registerRaw("RegisterDoctor", doctorBody("777", "MG", "novo@clinica.com.br")),
		"taken e-mail, other case":     f.registerRaw("RegisterPatient", patientBody("MARIA@example.com", "123.456.789-09")),
		"taken CPF, other format":      f.registerRaw("RegisterPatient", patientBody("outra@example.com", "52998224725")),
		"taken e-mail and CPF":         f.registerRaw("RegisterPatient", patientBody("maria@example.com", "529.982.247-25")),
		"verified CRM, leading zero":   f.registerRaw("RegisterDoctor", doctorBody("0123456", "SP", "impostor@example.com")),
		"taken doctor's e-mail":        f.registerRaw("RegisterDoctor", doctorBody("888", "RJ", "doc123456@clinica.com.br")),
		"same number in another UF ok": f.registerRaw("RegisterDoctor", doctorBody("123456", "RJ", "rj@clinica.com.br")),
	} {
		if got.status != fresh.status || got.body != fresh.body || !maps.EqualFunc(got.header, fresh.header, slices.Equal) {
			t.Errorf("%s: answer %+v differs from a new account's %+v", name, got, fresh)
		}
	}

	// The owners of what was taken are told, once per attempt; nothing goes to the
	// address of a registration refused for a taken CPF or CRM.
	told := map[string]int{}
	for _, n := range f.notices(notificationsv1.Event_EVENT_REGISTRATION_ATTEMPT) {
		told[n.GetRecipientId()]++
		if err := n.ValidateAll(); err != nil || n.GetSecurity().GetTime() == nil {
			t.Errorf("notice %v: %v", n, err)
		}
	}
	if want := map[string]int{maria.GetId(): 3, doctor.GetId(): 2}; !maps.Equal(told, want) {
		t.Errorf("registration attempts told %v, want %v", told, want)
	}
	var links []string
	for _, n := range f.notices(notificationsv1.Event_EVENT_EMAIL_VERIFICATION)[len(before):] {
		links = append(links, f.stored(roleOf(t, f, n.GetRecipientId()), accountColumn(t, f, "email", n.GetRecipientId())).GetEmail())
	}
	slices.Sort(links)
	if want := []string{"nova@example.com", "novo@clinica.com.br", "rj@clinica.com.br"}; !slices.Equal(links, want) {
		t.Errorf("verification links went to %v, want only the new accounts' %v", links, want)
	}
	var n int
	_ = f.db.QueryRow(context.Background(), `SELECT count(*) FROM accounts`).Scan(&n)
	if n != 5 {
		t.Errorf("%d accounts, want 5 (a taken detail must store nothing)", n)
	}
}

// accountColumn reads a column of the account with id as text.
func accountColumn(t *testing.T, f *fixture, column, id string) string {
	t.Helper()
	var v string
	if err := f.db.QueryRow(context.Background(), `SELECT `+column+`::text FROM accounts WHERE id = $1`, id).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func roleOf(t *testing.T, f *fixture, id string) string { return accountColumn(t, f, "role", id) }

func TestRegisterDoctor_AnUnverifiedCRMGetsACompetingClaim_AVerifiedOneDoesNot(t *testing.T) {
	f := newFixture(t, nil)
	first := doctorReq("123456", "SP", "primeiro@clinica.com.br")
	second := doctorReq("0123456", "SP", "segundo@clinica.com.br")
	second.Password = "another doctor password"
	for _, r := range []*identityv1.RegisterDoctorRequest{first, second} {
		if _, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(r)); err != nil {
			t.Fatal(err)
		}
	}
	a, b := f.stored("doctor", first.GetEmail()), f.stored("doctor", second.GetEmail())
	for _, id := range []string{a.GetId(), b.GetId()} {
		if st := doctorStatusOf(t, f, id); st != doctorPending {
			t.Errorf("claimant %s is %s, want pending", id, st)
		}
	}
	// Each claimant logs in by CRM with its own password; a wrong one is refused as ever.
	crmLogin := func(password string) *identityv1.LoginRequest {
		return &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: "123456", Uf: "SP"}}, Password: password}
	}
	for want, password := range map[string]string{a.GetId(): first.GetPassword(), b.GetId(): second.GetPassword()} {
		resp, err := f.login(crmLogin(password))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetAccount().GetId() != want {
			t.Errorf("logged in as %s, want %s", resp.GetAccount().GetId(), want)
		}
	}
	_, err := f.login(crmLogin("not a claimant's password"))
	testkit.WantReason(t, err, ReasonInvalidCredentials)

	// Once an operator vouched for one, the CRM is not claimed again, and its holder is told.
	if _, err := f.db.Exec(context.Background(), `UPDATE accounts SET doctor_status = 'verified' WHERE id = $1`, b.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(doctorReq("123456", "SP", "terceiro@clinica.com.br"))); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := f.svc.accounts.findByRoleEmail(context.Background(), f.db, "doctor", "terceiro@clinica.com.br"); ok {
		t.Error("a verified CRM was claimed again")
	}
	told := f.notices(notificationsv1.Event_EVENT_REGISTRATION_ATTEMPT)
	if len(told) != 1 || told[0].GetRecipientId() != b.GetId() {
		t.Errorf("registration attempts told %v, want the verified holder", told)
	}
	// The database holds the rule too: two vouched-for holders of one CRM cannot be.
	_, err = f.db.Exec(context.Background(), `UPDATE accounts SET doctor_status = 'verified' WHERE id = $1`, a.GetId())
	if !pg.IsUniqueViolation(err) {
		t.Errorf("a second verified holder of the CRM: err = %v, want a unique violation", err)
	}
}

func doctorStatusOf(t *testing.T, f *fixture, id string) string {
	return accountColumn(t, f, "doctor_status", id)
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
			_, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(req))
			if tt.bad == nil {
				if err != nil {
					t.Fatal(err)
				}
				if crm := f.stored("doctor", req.GetEmail()).GetCrm(); crm.GetNumber() != tt.number || crm.GetUf() != tt.uf {
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
	// Registrations of taken details count too: each one probes whether a detail is taken.
	if err := from(attacker, patientReq("a@example.com", "123.456.789-09")); err != nil {
		t.Fatal(err)
	}
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
