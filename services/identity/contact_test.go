package identity

import (
	"context"
	"maps"
	"slices"
	"testing"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

func TestGetContact_GivesNotificationsTheCurrentContactAndAuditsIt(t *testing.T) {
	f := newFixture(t, nil)
	patient := f.registerPatient("maria@example.com", "529.982.247-25")
	doctor := f.registerDoctor("12345", "SP")

	svc := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), f.url,
		connect.WithInterceptors(testkit.Caller("notifications")))
	get := func(id string) (*identityv1.GetContactResponse, error) {
		resp, err := svc.GetContact(context.Background(), connect.NewRequest(&identityv1.GetContactRequest{AccountId: id}))
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}
	for _, tc := range []struct {
		id   string
		want *identityv1.GetContactResponse
	}{
		// The phone is opened from the patient's sealed personal fields.
		{patient.GetId(), &identityv1.GetContactResponse{FirstName: "Maria", FullName: "Maria da Silva",
			Email: "maria@example.com", Phone: "+5511987654321", Role: accessv1.Role_ROLE_PATIENT}},
		// A doctor registers no phone; the greeting skips the title.
		{doctor.GetId(), &identityv1.GetContactResponse{FirstName: "João", FullName: "Dr. João Pereira",
			Email: "doc12345@clinica.com.br", Role: accessv1.Role_ROLE_DOCTOR}},
	} {
		got, err := get(tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.GetFirstName() != tc.want.FirstName || got.GetFullName() != tc.want.FullName || got.GetEmail() != tc.want.Email ||
			got.GetPhone() != tc.want.Phone || got.GetRole() != tc.want.Role {
			t.Errorf("GetContact(%s) = %v, want %v", tc.id, got, tc.want)
		}
	}
	var audited int
	if err := f.db.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'account.read_contact' AND subject_id = $1`,
		patient.GetId()).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != 1 {
		t.Errorf("audit rows of the patient's contact read = %d, want 1", audited)
	}

	_, err := get("6f1c2a43-0d55-4b8e-9a57-3f0b6c1f2d10")
	testkit.WantReason(t, err, ReasonAccountNotFound)

	// A user's own token is refused: the method is internal.
	tok := f.mustLogin(emailLogin("maria@example.com", "correct horse battery"))
	req := connect.NewRequest(&identityv1.GetContactRequest{AccountId: patient.GetId()})
	req.Header().Set("Authorization", "Bearer "+tok.GetAccessToken())
	_, err = f.client.GetContact(context.Background(), req)
	testkit.WantReason(t, err, authn.ReasonServiceOnly)

	// Only notifications reads contacts: payments, which reads payers, is refused.
	other := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), f.url,
		connect.WithInterceptors(testkit.Caller("payments")))
	_, err = other.GetContact(context.Background(), connect.NewRequest(&identityv1.GetContactRequest{AccountId: patient.GetId()}))
	testkit.WantReason(t, err, authn.ReasonCallerNotAllowed)
}

// Scheduling gets the first names of many accounts in one call, for a partner clinic:
// nothing else, unknown ids left out, each account read audited; nobody else may ask.
func TestGetFirstNames_GivesSchedulingFirstNamesOnlyAndAuditsEachAccount(t *testing.T) {
	f := newFixture(t, nil)
	patient := f.registerPatient("maria@example.com", "529.982.247-25")
	doctor := f.registerDoctor("12345", "SP")
	unknown := "6f1c2a43-0d55-4b8e-9a57-3f0b6c1f2d10"
	names := func(caller string) (map[string]string, error) {
		c := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), f.url, connect.WithInterceptors(testkit.Caller(caller)))
		resp, err := c.GetFirstNames(context.Background(), connect.NewRequest(&identityv1.GetFirstNamesRequest{
			AccountIds: []string{patient.GetId(), doctor.GetId(), unknown}}))
		if err != nil {
			return nil, err
		}
		return resp.Msg.GetFirstNames(), nil
	}
	got, err := names("scheduling")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{patient.GetId(): "Maria", doctor.GetId(): "João"}; !maps.Equal(got, want) {
		t.Errorf("first names = %v, want %v", got, want)
	}
	var audited []string
	rows, err := f.db.Query(context.Background(), `SELECT subject_id::text FROM audit_log WHERE action = 'account.read_first_name' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if audited, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if want := []string{patient.GetId(), doctor.GetId()}; !slices.Equal(audited, want) {
		t.Errorf("audited first-name reads = %v, want %v", audited, want)
	}
	_, err = names("notifications")
	testkit.WantReason(t, err, authn.ReasonCallerNotAllowed)
}

func TestFirstName_SkipsADoctorsTitle(t *testing.T) {
	for full, want := range map[string]string{
		"Maria da Silva": "Maria", "Dr. João Pereira": "João", "Dra Ana Lima": "Ana", "DR. dra. Rui": "Rui", "Dr.": "Dr.", "": "",
	} {
		if got := firstName(full); got != want {
			t.Errorf("firstName(%q) = %q, want %q", full, got, want)
		}
	}
}
