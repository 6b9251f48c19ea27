package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/authn"
	"healthcore/platform/notify"
	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
	"healthcore/services/identity"
	"healthcore/services/identity/identitytest"
)

type verifyFixture struct {
	*identitytest.Identity
	t     *testing.T
	db    *pgxpool.Pool
	users *testkit.Users
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	db := pgtest.Pool(t, identity.Schema.Name, identity.Schema)
	users := testkit.NewUsers(t)
	return &verifyFixture{Identity: identitytest.Start(t, db, identitytest.Options{Users: users}), t: t, db: db, users: users}
}

func (f *verifyFixture) status(id string) identityv1.DoctorStatus {
	f.t.Helper()
	resp, err := f.As("scheduling").GetDoctorStatus(context.Background(), connect.NewRequest(&identityv1.GetDoctorStatusRequest{DoctorId: id}))
	if err != nil {
		f.t.Fatalf("GetDoctorStatus: %v", err)
	}
	return resp.Msg.GetStatus()
}

// jobs returns the args of the jobs of kind queued for doctor id.
func (f *verifyFixture) jobs(kind, id string) []map[string]any {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT args FROM river_job WHERE kind = $1 AND args->>'doctor_id' = $2 ORDER BY id`, kind, id)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			f.t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// notices returns the events of the identity.notify jobs queued for id.
func (f *verifyFixture) notices(id string) []string {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT args->'verification'->>'outcome' FROM river_job
		WHERE kind = 'identity.notify' AND args->>'recipientId' = $1 ORDER BY id`, id)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s *string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

func (f *verifyFixture) audited(action, subject string) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1 AND subject_id::text = $2 AND outcome = 'ok'`,
		action, subject).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *verifyFixture) doctorToken(id, crm string) string {
	return f.users.SignPrincipal(authn.Principal{UserID: id, Role: accessv1.Role_ROLE_DOCTOR, CRM: crm, EmailVerified: true, AMR: []string{"pwd"}})
}

func TestVerification_OperatorSeesEvidenceRegistryAndCardThenApproves(t *testing.T) {
	f := newVerifyFixture(t)
	ctx := context.Background()
	id := f.DoctorWithCRM("123456", "SP")
	if got := f.status(id); got != identityv1.DoctorStatus_DOCTOR_STATUS_PENDING_VERIFICATION {
		t.Fatalf("status after registration = %v", got)
	}

	list, err := f.Client.ListPendingDoctors(ctx, testkit.Authed(&identityv1.ListPendingDoctorsRequest{}, f.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Msg.GetDoctors()) != 1 || list.Msg.GetDoctors()[0].GetDoctorId() != id ||
		list.Msg.GetDoctors()[0].GetEvidence().GetCardContentType() != "image/png" {
		t.Fatalf("pending = %v", list.Msg.GetDoctors())
	}

	got, err := f.Client.GetDoctorVerification(ctx, testkit.Authed(&identityv1.GetDoctorVerificationRequest{DoctorId: id}, f.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	reg := got.Msg.GetRegistry()
	if !reg.GetFound() || reg.GetName() != "João Pereira" || reg.GetSituation() != "ativo" || reg.GetSource() != "local:demo" {
		t.Errorf("registry = %v", reg)
	}
	ev := got.Msg.GetVerification().GetEvidence()
	if len(ev.GetSpecialties()) != 1 || ev.GetSpecialties()[0].GetCode() != "cardiologia" || ev.GetSpecialties()[0].GetRqe() != "4567" ||
		ev.GetCardSizeBytes() != int64(len(identitytest.Card)) {
		t.Errorf("evidence = %v", ev)
	}

	card, err := f.Client.GetDoctorCard(ctx, testkit.Authed(&identityv1.GetDoctorCardRequest{DoctorId: id}, f.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(card.Msg.GetContent(), identitytest.Card) || card.Msg.GetContentType() != "image/png" {
		t.Errorf("card = %q (%s), want the submitted PNG", card.Msg.GetContent(), card.Msg.GetContentType())
	}
	if f.audited("doctor.read_card", id) != 1 {
		t.Error("the card download is not in the audit log")
	}
	// The card is stored sealed: nothing in the evidence row or its data key is the card.
	var dataKey []byte
	if err := f.db.QueryRow(ctx, `SELECT card_data_key FROM doctor_evidence WHERE doctor_id = $1`, id).Scan(&dataKey); err != nil || len(dataKey) == 0 {
		t.Fatalf("card data key = %x, %v", dataKey, err)
	}

	resp := f.Approve(id)
	if resp.GetVerification().GetStatus() != identityv1.DoctorStatus_DOCTOR_STATUS_VERIFIED || f.status(id) != identityv1.DoctorStatus_DOCTOR_STATUS_VERIFIED {
		t.Fatalf("after approval: %v / %v", resp.GetVerification().GetStatus(), f.status(id))
	}
	if f.audited("doctor.approve", id) != 1 {
		t.Error("the approval is not in the audit log")
	}
	if got := f.jobs("identity.publish_doctor_listing", id); len(got) != 1 || got[0]["listed"] != true {
		t.Errorf("listing jobs = %v, want one listing", got)
	}
	if got := f.notices(id); !slices.Equal(got, []string{"VERIFICATION_OUTCOME_VERIFIED"}) {
		t.Errorf("notices = %v", got)
	}
	list, err = f.Client.ListPendingDoctors(ctx, testkit.Authed(&identityv1.ListPendingDoctorsRequest{}, f.AdminToken()))
	if err != nil || len(list.Msg.GetDoctors()) != 0 {
		t.Errorf("pending after approval = %v, %v", list.Msg.GetDoctors(), err)
	}
}

func TestVerification_OperatorRPCsNeedAnAdminWithASecondFactor(t *testing.T) {
	f := newVerifyFixture(t)
	id, _ := f.Doctor()
	pwdOnly := f.users.SignPrincipal(authn.Principal{UserID: id, Role: accessv1.Role_ROLE_ADMIN, AMR: []string{"pwd"}})
	_, err := f.Client.ApproveDoctor(context.Background(), testkit.Authed(&identityv1.ApproveDoctorRequest{DoctorId: id}, pwdOnly))
	testkit.WantReason(t, err, authn.ReasonMFARequired)
	_, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	_, err = f.Client.ListPendingDoctors(context.Background(), testkit.Authed(&identityv1.ListPendingDoctorsRequest{}, doctor))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("a doctor listing pending doctors: %v, want PERMISSION_DENIED", err)
	}
	if f.status(id) != identityv1.DoctorStatus_DOCTOR_STATUS_PENDING_VERIFICATION {
		t.Error("a refused approval changed the status")
	}
}

func TestVerification_RefusesWrongEvidenceAndDecisionsOutOfOrder(t *testing.T) {
	f := newVerifyFixture(t)
	ctx := context.Background()
	crm := &identityv1.Crm{Number: "555", Uf: "BA"}
	if _, err := f.Client.RegisterDoctor(ctx, connect.NewRequest(&identityv1.RegisterDoctorRequest{
		Name: "Dr. Sem Provas", Crm: crm, Email: "semprovas@clinica.test", Password: "Staple-Doctor-Horse-42"})); err != nil {
		t.Fatal(err)
	}
	login, err := f.Client.Login(ctx, connect.NewRequest(&identityv1.LoginRequest{
		Login: &identityv1.LoginRequest_Crm{Crm: crm}, Password: "Staple-Doctor-Horse-42"}))
	if err != nil {
		t.Fatal(err)
	}
	bare := login.Msg.GetAccount().GetId()
	token := f.doctorToken(bare, "555/BA")
	submit := func(number string, card []byte) error {
		_, err := f.Client.SubmitVerification(ctx, testkit.Authed(&identityv1.SubmitVerificationRequest{
			Crm: &identityv1.Crm{Number: number, Uf: "BA"}, Card: card}, token))
		return err
	}
	testkit.WantReason(t, submit("556", identitytest.Card), identity.ReasonCRMMismatch)
	testkit.WantReason(t, submit("555", []byte("GIF89a not a card")), identity.ReasonCardTypeNotAllowed)
	_, err = f.Client.ApproveDoctor(ctx, testkit.Authed(&identityv1.ApproveDoctorRequest{DoctorId: bare}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonEvidenceMissing)
	_, err = f.Client.GetDoctorCard(ctx, testkit.Authed(&identityv1.GetDoctorCardRequest{DoctorId: bare}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonEvidenceMissing)
	_, err = f.Client.SuspendDoctor(ctx, testkit.Authed(&identityv1.SuspendDoctorRequest{DoctorId: bare, Reason: "fraude"}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonDoctorStatusConflict)

	if _, err := f.Client.RejectDoctor(ctx, testkit.Authed(&identityv1.RejectDoctorRequest{DoctorId: bare, Reason: "foto ilegível"}, f.AdminToken())); err != nil {
		t.Fatal(err)
	}
	mine, err := f.Client.GetMyVerification(ctx, testkit.Authed(&identityv1.GetMyVerificationRequest{}, token))
	if err != nil {
		t.Fatal(err)
	}
	if mine.Msg.GetVerification().GetStatus() != identityv1.DoctorStatus_DOCTOR_STATUS_REJECTED || mine.Msg.GetVerification().GetReason() != "foto ilegível" {
		t.Errorf("the doctor sees %v", mine.Msg.GetVerification())
	}
	if got := f.notices(bare); !slices.Equal(got, []string{"VERIFICATION_OUTCOME_REJECTED"}) {
		t.Errorf("notices = %v", got)
	}
	testkit.WantReason(t, submit("555", identitytest.Card), identity.ReasonDoctorStatusConflict)
	_, err = f.Client.ApproveDoctor(ctx, testkit.Authed(&identityv1.ApproveDoctorRequest{DoctorId: bare}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonDoctorStatusConflict)
	var denied int
	if err := f.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'doctor.approve' AND outcome = 'denied'`).Scan(&denied); err != nil || denied != 2 {
		t.Errorf("denied approvals audited = %d, %v; want 2", denied, err)
	}
}

func TestSuspend_EndsTheDoctorsSessionsUnlistsAndRefusesAppointments(t *testing.T) {
	f := newVerifyFixture(t)
	ctx := context.Background()
	id, crm := f.VerifiedDoctor()
	number := crm[:len(crm)-3]
	login, err := f.Client.Login(ctx, connect.NewRequest(&identityv1.LoginRequest{
		Login: &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: number, Uf: "SP"}}, Password: "Staple-Doctor-Horse-42"}))
	if err != nil {
		t.Fatal(err)
	}
	f.Suspend(id, "CRM cassado pelo conselho")
	if f.status(id) != identityv1.DoctorStatus_DOCTOR_STATUS_SUSPENDED {
		t.Fatalf("status = %v", f.status(id))
	}
	_, err = f.Client.Refresh(ctx, connect.NewRequest(&identityv1.RefreshRequest{RefreshToken: login.Msg.GetTokens().GetRefreshToken()}))
	testkit.WantReason(t, err, identity.ReasonSessionEnded)
	// Every service's verifier refuses the session's access tokens once it polls the
	// list of ended sessions (within -revoked-sessions-refresh).
	revoked, err := f.As("scheduling").ListRevokedSessions(ctx, connect.NewRequest(&identityv1.ListRevokedSessionsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	var sessions int
	if err := f.db.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE account_id = $1 AND revoke_reason = 'doctor_suspended'`, id).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if sessions != 1 || len(revoked.Msg.GetSessions()) != 1 {
		t.Errorf("sessions ended by the suspension = %d, revoked sessions listed = %d; want 1, 1", sessions, len(revoked.Msg.GetSessions()))
	}

	if got := f.jobs("identity.suspend_doctor_appointments", id); len(got) != 1 || got[0]["reason"] != "CRM cassado pelo conselho" {
		t.Errorf("suspension jobs = %v", got)
	}
	var listed []any
	for _, j := range f.jobs("identity.publish_doctor_listing", id) {
		listed = append(listed, j["listed"])
	}
	if !slices.Equal(listed, []any{true, false}) {
		t.Errorf("listing verdicts = %v, want approve, suspend", listed)
	}
	if got := f.notices(id); !slices.Equal(got, []string{"VERIFICATION_OUTCOME_VERIFIED", "VERIFICATION_OUTCOME_SUSPENDED"}) {
		t.Errorf("notices = %v", got)
	}
	_, err = f.Client.SuspendDoctor(ctx, testkit.Authed(&identityv1.SuspendDoctorRequest{DoctorId: id, Reason: "de novo"}, f.AdminToken()))
	testkit.WantReason(t, err, identity.ReasonDoctorStatusConflict)
	got, err := f.Client.GetDoctorVerification(ctx, testkit.Authed(&identityv1.GetDoctorVerificationRequest{DoctorId: id}, f.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, d := range got.Msg.GetDecisions() {
		reasons = append(reasons, d.GetReason())
	}
	if !slices.Equal(reasons, []string{"", "CRM cassado pelo conselho"}) {
		t.Errorf("decision reasons = %q", reasons)
	}
}

func TestDispute_ApprovingOneClaimRejectsTheOthersAndTheCRMCannotBeVerifiedTwice(t *testing.T) {
	f := newVerifyFixture(t)
	ctx := context.Background()
	impostor := f.DoctorWithCRM("654321", "RJ")
	real := f.DoctorWithCRM("654321", "RJ")
	third := f.DoctorWithCRM("654321", "RJ")

	got, err := f.Client.GetDoctorVerification(ctx, testkit.Authed(&identityv1.GetDoctorVerificationRequest{DoctorId: real}, f.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Msg.GetCompetingClaims()); n != 2 {
		t.Fatalf("competing claims shown = %d, want 2", n)
	}

	resp := f.Approve(real)
	slices.Sort(resp.RejectedClaimIds)
	want := []string{impostor, third}
	slices.Sort(want)
	if !slices.Equal(resp.GetRejectedClaimIds(), want) {
		t.Errorf("rejected claims = %v, want %v", resp.GetRejectedClaimIds(), want)
	}
	for _, id := range []string{impostor, third} {
		if f.status(id) != identityv1.DoctorStatus_DOCTOR_STATUS_REJECTED {
			t.Errorf("competing claim %s: %v, want REJECTED", id, f.status(id))
		}
		if got := f.notices(id); !slices.Equal(got, []string{"VERIFICATION_OUTCOME_REJECTED"}) {
			t.Errorf("competing claim %s told %v", id, got)
		}
	}
	if f.status(real) != identityv1.DoctorStatus_DOCTOR_STATUS_VERIFIED {
		t.Errorf("the approved claim is %v", f.status(real))
	}
	// A verified CRM cannot be claimed again: registration answers as always, creates no
	// account, and tells the holder someone tried.
	if _, err := f.Client.RegisterDoctor(ctx, connect.NewRequest(&identityv1.RegisterDoctorRequest{
		Name: "Dr. Impostor Tardio", Crm: &identityv1.Crm{Number: "654321", Uf: "RJ"},
		Email: "tardio@clinica.test", Password: "Staple-Doctor-Horse-42"})); err != nil {
		t.Fatal(err)
	}
	queued, err := notify.Queued(ctx, f.db, "identity.notify")
	if err != nil {
		t.Fatal(err)
	}
	var links, attempts int
	for _, n := range queued {
		switch {
		case n.GetEvent() == notificationsv1.Event_EVENT_EMAIL_VERIFICATION:
			links++
		case n.GetEvent() == notificationsv1.Event_EVENT_REGISTRATION_ATTEMPT && n.GetRecipientId() == real:
			attempts++
		}
	}
	if links != 3 || attempts != 1 {
		t.Errorf("after a claim of the verified CRM: %d accounts told to confirm (want the 3 claims), holder told %d times (want 1)", links, attempts)
	}
}
