package scheduling

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	accessv1 "healthcore/gen/healthcore/access/v1"
	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

// affiliate has the operator invite the doctor to the clinic and the doctor accept,
// delegating the answering of appointments when delegate is set.
func (f *partnerFixture) affiliate(clinicID string, d user, delegate bool) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.clinics.InviteDoctor(ctx, testkit.Authed(&clinicsv1.InviteDoctorRequest{ClinicId: clinicID, DoctorId: d.id}, f.admin)); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.clinics.AcceptAffiliation(ctx, testkit.Authed(&clinicsv1.AcceptAffiliationRequest{ClinicId: clinicID}, d.token)); err != nil {
		f.t.Fatal(err)
	}
	if delegate {
		f.delegate(clinicID, d, true)
	}
}

func (f *partnerFixture) delegate(clinicID string, d user, on bool) {
	f.t.Helper()
	if _, err := f.clinics.SetDelegation(context.Background(), testkit.Authed(&clinicsv1.SetDelegationRequest{
		ClinicId: clinicID, AnswersDelegated: on}, d.token)); err != nil {
		f.t.Fatal(err)
	}
}

// patientNamed is a patient registered in identity under name.
func (f *partnerFixture) patientNamed(name string) user {
	f.t.Helper()
	id := f.identity.Patient(name)
	return user{id, f.users.SignPrincipal(authn.Principal{UserID: id, Role: accessv1.Role_ROLE_PATIENT, EmailVerified: true, AMR: []string{"pwd"}})}
}

// paidBy books the slot for the patient and reports it paid: AWAITING_DOCTOR.
func (f *partnerFixture) paidBy(p user, slot string) *schedulingv1.Appointment {
	f.t.Helper()
	a := f.mustBook(p, slot, "key-"+p.id)
	f.paid(a.GetId())
	return a
}

func (f *partnerFixture) list(token string, req *schedulingv1.ListDoctorAppointmentsRequest) (*schedulingv1.ListDoctorAppointmentsResponse, error) {
	resp, err := f.sched.ListDoctorAppointments(context.Background(), testkit.Authed(req, token))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (f *partnerFixture) acceptFor(token, id string) (*schedulingv1.PartnerAppointment, error) {
	resp, err := f.sched.AcceptDoctorAppointment(context.Background(), testkit.Authed(&schedulingv1.AcceptDoctorAppointmentRequest{Id: id}, token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetAppointment(), nil
}

func (f *partnerFixture) refuseFor(token, id string) (*schedulingv1.PartnerAppointment, error) {
	resp, err := f.sched.RefuseDoctorAppointment(context.Background(), testkit.Authed(&schedulingv1.RefuseDoctorAppointmentRequest{
		Id: id, Reason: "a médica está em cirurgia"}, token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetAppointment(), nil
}

// partnerAppointmentFields is every field a clinic may see of an appointment: adding
// one to PartnerAppointment fails this test until it is judged harmless here.
var partnerAppointmentFields = []string{"answer_deadline", "create_time", "doctor_id", "end_time", "id",
	"patient_first_name", "slot_id", "start_time", "state", "update_time"}

// A clinic reads its affiliated doctor's appointments with times, state, answer
// deadline and the patient's first name from identity — nothing else of the patient.
func TestPartner_AClinicReadsItsDoctorsAppointmentsWithThePatientsFirstNameOnly(t *testing.T) {
	f := newPartnerFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	sol, lua := f.clinic("11.222.333/0001-81"), f.clinic("11.444.777/0001-61")
	f.affiliate(sol, d, false)
	_, read := f.users.SignPartner(sol, "appointments.read")
	_, luaRead := f.users.SignPartner(lua, "appointments.read")
	_, agenda := f.users.SignPartner(sol, "agenda.read")

	maria, joao := f.patientNamed("Maria Clara Silva"), f.patientNamed("João Pedro Santos")
	first := f.paidBy(maria, f.slotAt(d.id, firstSlot).id)
	second := f.mustBook(joao, f.slots(d.id)[1].id, "key-"+joao.id) // 10:00, unpaid

	got, err := f.list(read, &schedulingv1.ListDoctorAppointmentsRequest{DoctorId: d.id})
	if err != nil {
		t.Fatal(err)
	}
	list := got.GetAppointments()
	if len(list) != 2 || list[0].GetId() != first.GetId() || list[1].GetId() != second.GetId() {
		t.Fatalf("the clinic's list = %v, want the two appointments, earliest first", list)
	}
	if a := list[0]; a.GetPatientFirstName() != "Maria" || a.GetState() != awaiting || a.GetAnswerDeadline() == nil ||
		!a.GetStartTime().AsTime().Equal(firstSlot) || a.GetDoctorId() != d.id {
		t.Errorf("the paid appointment as the clinic sees it: %v", a)
	}
	if a := list[1]; a.GetPatientFirstName() != "João" || a.GetState() != schedulingv1.AppointmentState_APPOINTMENT_STATE_PENDING_PAYMENT ||
		a.GetAnswerDeadline() != nil {
		t.Errorf("the unpaid appointment as the clinic sees it: %v", a)
	}
	// Nothing but the allowed fields exists, and nothing of the patient is in the answer.
	var fields []string
	msg := (&schedulingv1.PartnerAppointment{}).ProtoReflect().Descriptor().Fields()
	for i := range msg.Len() {
		fields = append(fields, string(msg.Get(i).Name()))
	}
	slices.Sort(fields)
	if !slices.Equal(fields, partnerAppointmentFields) {
		t.Errorf("PartnerAppointment's fields = %v, want %v", fields, partnerAppointmentFields)
	}
	wire, _ := protojson.Marshal(got)
	for _, secret := range []string{maria.id, joao.id, "dor no peito", "Clara", "Silva", "Santos", testkit.CPF(9001)[:9]} {
		if strings.Contains(string(wire), secret) {
			t.Errorf("the clinic's answer carries %q: %s", secret, wire)
		}
	}
	list[0].ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() == protoreflect.StringKind && strings.Contains(v.String(), " ") {
			t.Errorf("field %s = %q: more than a first name or an id", fd.Name(), v.String())
		}
		return true
	})

	// Filters and pages.
	page, err := f.list(read, &schedulingv1.ListDoctorAppointmentsRequest{DoctorId: d.id, PageSize: 1})
	if err != nil || len(page.GetAppointments()) != 1 || page.GetNextPageToken() == "" || page.GetAppointments()[0].GetId() != first.GetId() {
		t.Fatalf("first page: %v, %v", page, err)
	}
	next, err := f.list(read, &schedulingv1.ListDoctorAppointmentsRequest{DoctorId: d.id, PageSize: 1, PageToken: page.GetNextPageToken()})
	if err != nil || len(next.GetAppointments()) != 1 || next.GetAppointments()[0].GetId() != second.GetId() {
		t.Fatalf("second page: %v, %v", next, err)
	}
	awaitingOnly, err := f.list(read, &schedulingv1.ListDoctorAppointmentsRequest{DoctorId: d.id,
		States: []schedulingv1.AppointmentState{awaiting}})
	if err != nil || len(awaitingOnly.GetAppointments()) != 1 || awaitingOnly.GetAppointments()[0].GetId() != first.GetId() {
		t.Errorf("AWAITING_DOCTOR only: %v, %v", awaitingOnly, err)
	}
	// An altered page token does not continue the list.
	_, err = f.list(read, &schedulingv1.ListDoctorAppointmentsRequest{DoctorId: d.id, PageSize: 1, PageToken: "x" + page.GetNextPageToken()})
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("a mangled page token: %v, want InvalidArgument", err)
	}

	one, err := f.sched.GetDoctorAppointment(context.Background(), testkit.Authed(&schedulingv1.GetDoctorAppointmentRequest{Id: first.GetId()}, read))
	if err != nil || one.Msg.GetAppointment().GetPatientFirstName() != "Maria" || one.Msg.GetAppointment().GetState() != awaiting {
		t.Errorf("get one: %v, %v", one, err)
	}
	_, err = f.sched.GetDoctorAppointment(context.Background(), testkit.Authed(&schedulingv1.GetDoctorAppointmentRequest{Id: uuid.NewString()}, read))
	testkit.WantReason(t, err, ReasonAppointmentNotFound)

	// Another clinic, and another scope, are refused.
	_, err = f.list(luaRead, &schedulingv1.ListDoctorAppointmentsRequest{DoctorId: d.id})
	testkit.WantReason(t, err, ReasonNotAffiliated)
	_, err = f.sched.GetDoctorAppointment(context.Background(), testkit.Authed(&schedulingv1.GetDoctorAppointmentRequest{Id: first.GetId()}, luaRead))
	testkit.WantReason(t, err, ReasonNotAffiliated)
	_, err = f.list(agenda, &schedulingv1.ListDoctorAppointmentsRequest{DoctorId: d.id})
	testkit.WantReason(t, err, authn.ReasonScopeMissing)
	// The doctor's own list is not the clinic's.
	_, err = f.sched.ListMyAppointments(context.Background(), testkit.Authed(&schedulingv1.ListMyAppointmentsRequest{}, read))
	testkit.WantReason(t, err, authn.ReasonPartnerNotAllowed)
}

// A clinic answers for a doctor only once the doctor delegated that to it, and no
// longer once the doctor revokes it; the history names the clinic and its client.
func TestPartner_AClinicAnswersOnlyWhatTheDoctorDelegated(t *testing.T) {
	f := newPartnerFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	sol, lua := f.clinic("11.222.333/0001-81"), f.clinic("11.444.777/0001-61")
	f.affiliate(sol, d, false)
	client, answer := f.users.SignPartner(sol, "appointments.answer")
	_, luaAnswer := f.users.SignPartner(lua, "appointments.answer")
	_, read := f.users.SignPartner(sol, "appointments.read")
	maria, joao := f.patientNamed("Maria Clara Silva"), f.patientNamed("João Pedro Santos")
	a := f.paidBy(maria, f.slotAt(d.id, firstSlot).id)
	b := f.paidBy(joao, f.slots(d.id)[1].id)

	_, err := f.acceptFor(answer, a.GetId())
	testkit.WantReason(t, err, ReasonNotDelegated)
	_, err = f.refuseFor(answer, a.GetId())
	testkit.WantReason(t, err, ReasonNotDelegated)
	_, err = f.acceptFor(read, a.GetId())
	testkit.WantReason(t, err, authn.ReasonScopeMissing)
	if got := f.mustGet(d, a.GetId()); got.GetState() != awaiting {
		t.Fatalf("refused answers changed the appointment: %v", got.GetState())
	}

	f.delegate(sol, d, true)
	_, err = f.acceptFor(luaAnswer, a.GetId())
	testkit.WantReason(t, err, ReasonNotAffiliated)
	got, err := f.acceptFor(answer, a.GetId())
	if err != nil || got.GetState() != confirmed || got.GetPatientFirstName() != "Maria" || got.GetAnswerDeadline() != nil {
		t.Fatalf("the clinic's accept: %v, %v", got, err)
	}
	seen := f.mustGet(maria, a.GetId())
	last := seen.GetHistory()[len(seen.GetHistory())-1]
	if seen.GetState() != confirmed || last.GetKind() != "accepted" || last.GetActorRole() != "clinic" ||
		last.GetActorId() != sol || last.GetActorClientId() != client {
		t.Errorf("the patient sees %v with last event %v; want accepted by clinic %s, client %s", seen.GetState(), last, sol, client)
	}

	refusedB, err := f.refuseFor(answer, b.GetId())
	if err != nil || refusedB.GetState() != refused {
		t.Fatalf("the clinic's refusal: %v, %v", refusedB, err)
	}
	seenB := f.mustGet(joao, b.GetId())
	last = seenB.GetHistory()[len(seenB.GetHistory())-1]
	if seenB.GetRefundCents() != seenB.GetPrice().GetAmountCents() || last.GetActorRole() != "clinic" ||
		last.GetReason() != "a médica está em cirurgia" || last.GetActorClientId() != client {
		t.Errorf("the patient sees the clinic's refusal as %v (refund %d); want it named, with its reason, refunded in full", last, seenB.GetRefundCents())
	}
	// A refusal of a confirmed appointment is the transitions' to refuse.
	_, err = f.refuseFor(answer, a.GetId())
	testkit.WantReason(t, err, ReasonIllegalTransition)

	// Revoked, the delegation counts at once (no cache in the way).
	c := f.paidBy(f.patientNamed("Ana Lima"), f.slots(d.id)[2].id)
	f.delegate(sol, d, false)
	_, err = f.acceptFor(answer, c.GetId())
	testkit.WantReason(t, err, ReasonNotDelegated)
}

// The doctor and the clinic answer one appointment at once: exactly one answer wins,
// the other is told the appointment moved on, and the history holds one decision.
func TestPartner_TheDoctorAndTheClinicAnsweringAtOnceMakeOneDecision(t *testing.T) {
	f := newPartnerFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	sol := f.clinic("11.222.333/0001-81")
	f.affiliate(sol, d, true)
	_, answer := f.users.SignPartner(sol, "appointments.answer")
	for i := range 4 {
		p := f.patientNamed("Paciente Teste")
		a := f.paidBy(p, f.slots(d.id)[i].id)
		var wg sync.WaitGroup
		var clinicErr, doctorErr error
		wg.Go(func() { _, clinicErr = f.acceptFor(answer, a.GetId()) })
		wg.Go(func() { _, doctorErr = f.refuse(d, a.GetId()) })
		wg.Wait()
		if (clinicErr == nil) == (doctorErr == nil) {
			t.Fatalf("round %d: clinic accept %v, doctor refuse %v; want exactly one to win", i, clinicErr, doctorErr)
		}
		loser := clinicErr
		if loser == nil {
			loser = doctorErr
		}
		testkit.WantReason(t, loser, ReasonIllegalTransition)
		var decisions []string
		for _, e := range f.mustGet(d, a.GetId()).GetHistory() {
			if e.GetKind() == "accepted" || e.GetKind() == "refused" {
				decisions = append(decisions, e.GetKind()+" by "+e.GetActorRole())
			}
		}
		want := "accepted by clinic"
		if clinicErr != nil {
			want = "refused by doctor"
		}
		if !slices.Equal(decisions, []string{want}) {
			t.Errorf("round %d: decisions %q, want [%s]", i, decisions, want)
		}
	}
	// Both accepting at once: both are told CONFIRMED (an accept is idempotent), and
	// one acceptance is recorded.
	a := f.paidBy(f.patientNamed("Paciente Teste"), f.slots(d.id)[4].id)
	var wg sync.WaitGroup
	var clinicErr, doctorErr error
	wg.Go(func() { _, clinicErr = f.acceptFor(answer, a.GetId()) })
	wg.Go(func() { _, doctorErr = f.accept(d, a.GetId()) })
	wg.Wait()
	if clinicErr != nil || doctorErr != nil {
		t.Fatalf("accepting at once: clinic %v, doctor %v", clinicErr, doctorErr)
	}
	accepted := 0
	for _, e := range f.mustGet(d, a.GetId()).GetHistory() {
		if e.GetKind() == "accepted" {
			accepted++
		}
	}
	if accepted != 1 {
		t.Errorf("accepting at once recorded %d acceptances, want 1", accepted)
	}
}

// A clinic reads its doctor's agenda (held slots name their appointment, not the
// patient) and blocks and reopens the doctor's slots with agenda.write.
func TestPartner_AClinicReadsTheAgendaAndBlocksSlotsOfItsDoctors(t *testing.T) {
	f := newPartnerFixture(t)
	ctx := context.Background()
	d, other := f.listedDoctor(), f.listedDoctor()
	f.mustSet(d, mondayMornings())
	sol := f.clinic("11.222.333/0001-81")
	f.affiliate(sol, d, false)
	_, read := f.users.SignPartner(sol, "agenda.read")
	_, write := f.users.SignPartner(sol, "agenda.write")
	p := f.patientNamed("Maria Clara Silva")
	a := f.mustBook(p, f.slotAt(d.id, firstSlot).id, "key-agenda")

	week := &schedulingv1.GetDoctorAgendaRequest{DoctorId: d.id, StartTime: tsp(monday), EndTime: tsp(monday.Add(7 * 24 * time.Hour))}
	got, err := f.sched.GetDoctorAgenda(ctx, testkit.Authed(week, read))
	if err != nil {
		t.Fatal(err)
	}
	mine, err := f.agenda(d, monday, monday.Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Msg.GetSlots()) == 0 || len(got.Msg.GetSlots()) != len(mine.GetSlots()) || got.Msg.GetTimeZone() != "America/Sao_Paulo" {
		t.Fatalf("the clinic's agenda has %d slots, the doctor's %d", len(got.Msg.GetSlots()), len(mine.GetSlots()))
	}
	held := got.Msg.GetSlots()[0]
	if held.GetStatus() != schedulingv1.SlotStatus_SLOT_STATUS_BOOKED || held.GetAppointment().GetId() != a.GetId() ||
		held.GetAppointment().GetPatientId() != "" || held.GetAppointment().GetState() == "" {
		t.Errorf("the held slot as the clinic sees it: %v", held)
	}
	open := got.Msg.GetSlots()[1]
	blocked, err := f.sched.BlockDoctorSlot(ctx, testkit.Authed(&schedulingv1.BlockDoctorSlotRequest{DoctorId: d.id, SlotId: open.GetId()}, write))
	if err != nil || blocked.Msg.GetSlot().GetStatus() != schedulingv1.SlotStatus_SLOT_STATUS_BLOCKED {
		t.Fatalf("block: %v, %v", blocked, err)
	}
	if s := f.slotAt(d.id, open.GetStartTime().AsTime()); s.status != "blocked" {
		t.Errorf("the slot is %q after the clinic blocked it", s.status)
	}
	reopened, err := f.sched.ReopenDoctorSlot(ctx, testkit.Authed(&schedulingv1.ReopenDoctorSlotRequest{DoctorId: d.id, SlotId: open.GetId()}, write))
	if err != nil || reopened.Msg.GetSlot().GetStatus() != schedulingv1.SlotStatus_SLOT_STATUS_OPEN {
		t.Fatalf("reopen: %v, %v", reopened, err)
	}
	_, err = f.sched.BlockDoctorSlot(ctx, testkit.Authed(&schedulingv1.BlockDoctorSlotRequest{DoctorId: d.id, SlotId: open.GetId()}, read))
	testkit.WantReason(t, err, authn.ReasonScopeMissing)
	// Another doctor's slot under the affiliated doctor's id is not found; the other
	// doctor is not the clinic's.
	f.mustSet(other, mondayMornings())
	otherSlot := f.slotAt(other.id, firstSlot).id
	_, err = f.sched.BlockDoctorSlot(ctx, testkit.Authed(&schedulingv1.BlockDoctorSlotRequest{DoctorId: d.id, SlotId: otherSlot}, write))
	testkit.WantReason(t, err, ReasonSlotNotFound)
	_, err = f.sched.BlockDoctorSlot(ctx, testkit.Authed(&schedulingv1.BlockDoctorSlotRequest{DoctorId: other.id, SlotId: otherSlot}, write))
	testkit.WantReason(t, err, ReasonNotAffiliated)
	_, err = f.sched.GetDoctorAgenda(ctx, testkit.Authed(&schedulingv1.GetDoctorAgendaRequest{DoctorId: other.id,
		StartTime: week.StartTime, EndTime: week.EndTime}, read))
	testkit.WantReason(t, err, ReasonNotAffiliated)
}

// Each scope admits exactly its RPCs: every partner RPC of scheduling called with a
// token of each scope is refused SCOPE_MISSING exactly when its rule does not list the
// scope (the call's own outcome past the scope check does not matter here).
func TestPartner_EachScopeAdmitsExactlyItsSchedulingRPCs(t *testing.T) {
	f := newPartnerFixture(t)
	ctx := context.Background()
	d := f.listedDoctor()
	sol := f.clinic("11.222.333/0001-81")
	f.affiliate(sol, d, true)
	from, to := tsp(monday), tsp(monday.Add(7*24*time.Hour))
	calls := map[string]func(token string) error{
		"GetDoctorAvailability": func(tk string) error {
			_, err := f.sched.GetDoctorAvailability(ctx, testkit.Authed(&schedulingv1.GetDoctorAvailabilityRequest{DoctorId: d.id}, tk))
			return err
		},
		"SetDoctorAvailability": func(tk string) error {
			_, err := f.sched.SetDoctorAvailability(ctx, testkit.Authed(&schedulingv1.SetDoctorAvailabilityRequest{DoctorId: d.id, Availability: mondayMornings()}, tk))
			return err
		},
		"ListAvailableSlots": func(tk string) error {
			_, err := f.sched.ListAvailableSlots(ctx, testkit.Authed(&schedulingv1.ListAvailableSlotsRequest{DoctorId: d.id, StartTime: from, EndTime: to}, tk))
			return err
		},
		"GetDoctorAgenda": func(tk string) error {
			_, err := f.sched.GetDoctorAgenda(ctx, testkit.Authed(&schedulingv1.GetDoctorAgendaRequest{DoctorId: d.id, StartTime: from, EndTime: to}, tk))
			return err
		},
		"BlockDoctorSlot": func(tk string) error {
			_, err := f.sched.BlockDoctorSlot(ctx, testkit.Authed(&schedulingv1.BlockDoctorSlotRequest{DoctorId: d.id, SlotId: uuid.NewString()}, tk))
			return err
		},
		"ReopenDoctorSlot": func(tk string) error {
			_, err := f.sched.ReopenDoctorSlot(ctx, testkit.Authed(&schedulingv1.ReopenDoctorSlotRequest{DoctorId: d.id, SlotId: uuid.NewString()}, tk))
			return err
		},
		"ListDoctorAppointments": func(tk string) error {
			_, err := f.sched.ListDoctorAppointments(ctx, testkit.Authed(&schedulingv1.ListDoctorAppointmentsRequest{DoctorId: d.id}, tk))
			return err
		},
		"GetDoctorAppointment": func(tk string) error {
			_, err := f.sched.GetDoctorAppointment(ctx, testkit.Authed(&schedulingv1.GetDoctorAppointmentRequest{Id: uuid.NewString()}, tk))
			return err
		},
		"AcceptDoctorAppointment": func(tk string) error {
			_, err := f.sched.AcceptDoctorAppointment(ctx, testkit.Authed(&schedulingv1.AcceptDoctorAppointmentRequest{Id: uuid.NewString()}, tk))
			return err
		},
		"RefuseDoctorAppointment": func(tk string) error {
			_, err := f.sched.RefuseDoctorAppointment(ctx, testkit.Authed(&schedulingv1.RefuseDoctorAppointmentRequest{Id: uuid.NewString(), Reason: "sem agenda hoje"}, tk))
			return err
		},
	}
	// Every partner RPC of the service has a call above.
	service := schedulingv1.File_healthcore_scheduling_v1_scheduling_proto.Services().Get(0)
	for i := range service.Methods().Len() {
		md := service.Methods().Get(i)
		if authn.RuleOf(md).GetPartner() != nil && calls[string(md.Name())] == nil {
			t.Errorf("%s admits partners but the matrix does not call it", md.Name())
		}
	}
	for name, call := range calls {
		allowed := authn.RuleOf(service.Methods().ByName(protoreflect.Name(name))).GetPartner().GetScopes()
		for _, scope := range authn.PartnerScopes {
			_, token := f.users.SignPartner(sol, scope)
			err := call(token)
			refused := errs.Has(err, authn.ReasonScopeMissing) || errs.Has(err, authn.ReasonPartnerNotAllowed)
			if want := !slices.Contains(allowed, scope); refused != want {
				t.Errorf("%s with %s: %v; want refused by scope %v", name, scope, err, want)
			}
		}
	}
}
