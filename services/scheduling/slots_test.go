package scheduling

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

// agendaFixture is a São Paulo doctor with Monday 09:00–12:00 (12:00Z, 13:00Z, 14:00Z),
// the clock at 10:30 local on Monday 1 June, 8 June's 09:00 blocked, its 10:00 booked
// and its 11:00 held by an appointment that expired.
type agendaFixture struct {
	*fixture
	doctor                   user
	blocked, booked, expired stored
	appointment              string
	patient                  string
}

func newAgendaFixture(t *testing.T) *agendaFixture {
	f := newFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	a := &agendaFixture{fixture: f, doctor: d,
		blocked: f.slotAt(d.id, at("2026-06-08T12:00:00Z")),
		booked:  f.slotAt(d.id, at("2026-06-08T13:00:00Z")),
		expired: f.slotAt(d.id, at("2026-06-08T14:00:00Z")),
	}
	if _, err := f.block(d, a.blocked.id); err != nil {
		t.Fatal(err)
	}
	a.appointment = f.book(a.booked, d.id, "AWAITING_DOCTOR")
	if err := f.db.QueryRow(context.Background(), `SELECT patient_id::text FROM appointments WHERE id = $1`, a.appointment).Scan(&a.patient); err != nil {
		t.Fatal(err)
	}
	f.book(a.expired, d.id, "EXPIRED")
	f.clock.Advance(7*time.Hour + 30*time.Minute) // 13:30Z: 09:00 is over, 10:00 under way
	return a
}

func TestListAvailableSlots_FreeFutureSlotsInOrderWithPriceAndTimeZone(t *testing.T) {
	t.Parallel()
	a := newAgendaFixture(t)
	resp := a.mustAvailable(a.doctor.id, at("2026-06-01T00:00:00Z"), at("2026-06-16T00:00:00Z"))
	// 1 June: 11:00 local is still to come but starts within the hour's minimum lead.
	// 8 June: 09:00 blocked, 10:00 booked, 11:00 free again (its appointment expired).
	// 15 June: all three.
	wantTimes(t, "available slots", protoStarts(resp.GetSlots()), utc(
		"2026-06-08T14:00:00Z", "2026-06-15T12:00:00Z", "2026-06-15T13:00:00Z", "2026-06-15T14:00:00Z"))
	for _, s := range resp.GetSlots() {
		if s.GetStatus() != schedulingv1.SlotStatus_SLOT_STATUS_OPEN || s.GetDoctorId() != a.doctor.id || s.GetAppointment() != nil ||
			s.GetEndTime().AsTime().Sub(s.GetStartTime().AsTime()) != 50*time.Minute {
			t.Errorf("available slot %v", s)
		}
	}
	if resp.GetPrice().GetAmountCents() != 25000 || resp.GetPrice().GetCurrency() != "BRL" || resp.GetTimeZone() != "America/Sao_Paulo" {
		t.Errorf("price %v, time zone %q", resp.GetPrice(), resp.GetTimeZone())
	}
	// The range's end is exclusive.
	resp = a.mustAvailable(a.doctor.id, at("2026-06-15T12:00:00Z"), at("2026-06-15T13:00:00Z"))
	wantTimes(t, "one-hour range", protoStarts(resp.GetSlots()), utc("2026-06-15T12:00:00Z"))
}

func TestGetMyAgenda_ShowsEverySlotWithWhatHoldsIt(t *testing.T) {
	t.Parallel()
	a := newAgendaFixture(t)
	resp, err := a.agenda(a.doctor, at("2026-06-01T00:00:00Z"), at("2026-06-09T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		start  string
		status schedulingv1.SlotStatus
	}
	open, blocked, booked := schedulingv1.SlotStatus_SLOT_STATUS_OPEN, schedulingv1.SlotStatus_SLOT_STATUS_BLOCKED, schedulingv1.SlotStatus_SLOT_STATUS_BOOKED
	want := []row{
		// The past and the slot under way are part of the doctor's day.
		{"2026-06-01T12:00:00Z", open}, {"2026-06-01T13:00:00Z", open}, {"2026-06-01T14:00:00Z", open},
		{"2026-06-08T12:00:00Z", blocked}, {"2026-06-08T13:00:00Z", booked}, {"2026-06-08T14:00:00Z", open},
	}
	if len(resp.GetSlots()) != len(want) {
		t.Fatalf("agenda %v", resp.GetSlots())
	}
	for i, s := range resp.GetSlots() {
		if !s.GetStartTime().AsTime().Equal(at(want[i].start)) || s.GetStatus() != want[i].status {
			t.Errorf("agenda[%d] = %s %v, want %s %v", i, s.GetStartTime().AsTime().Format(time.RFC3339), s.GetStatus(), want[i].start, want[i].status)
		}
		if (s.GetAppointment() != nil) != (want[i].status == booked) {
			t.Errorf("agenda[%d] appointment %v", i, s.GetAppointment())
		}
	}
	appt := resp.GetSlots()[4].GetAppointment()
	if appt.GetId() != a.appointment || appt.GetPatientId() != a.patient || appt.GetState() != "AWAITING_DOCTOR" {
		t.Errorf("appointment summary %v", appt)
	}
	if resp.GetTimeZone() != "America/Sao_Paulo" {
		t.Errorf("time zone %q", resp.GetTimeZone())
	}
}

func TestSlotListings_RefuseRangesOverThirtyOneDaysOrBackwards(t *testing.T) {
	t.Parallel()
	a := newAgendaFixture(t)
	from := at("2026-06-01T00:00:00Z")
	cases := []struct {
		name   string
		to     time.Time
		reason errs.Reason // the zero Reason when the range is accepted
	}{
		{"exactly 31 days", from.Add(31 * 24 * time.Hour), errs.Reason{}},
		{"31 days and a second", from.Add(31*24*time.Hour + time.Second), ReasonRangeTooLong},
		{"end equal to start", from, ReasonRangeInvalid},
		{"end before start", from.Add(-time.Hour), ReasonRangeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errList := a.available(a.doctor.id, from, tc.to)
			_, errAgenda := a.agenda(a.doctor, from, tc.to)
			for what, err := range map[string]error{"ListAvailableSlots": errList, "GetMyAgenda": errAgenda} {
				if tc.reason == (errs.Reason{}) {
					if err != nil {
						t.Errorf("%s: %v", what, err)
					}
					continue
				}
				testkit.WantReason(t, err, tc.reason)
				if v := testkit.Violations(t, err); len(v) != 1 || v["end_time"] == "" {
					t.Errorf("%s violations %v, want one on end_time", what, v)
				}
			}
		})
	}
}

func TestListAvailableSlots_UnlistedOrUnknownDoctorIsNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.newDoctor()
	in := profile("America/Sao_Paulo", 25000, 0)
	in.Location = nil // incomplete: not listed, but has a time zone for an agenda
	if p := f.upsertProfile(d, in); p.GetListed() {
		t.Fatal("profile without location is listed")
	}
	f.mustSet(d, mondayMornings())
	if n := len(f.slots(d.id)); n != 24 {
		t.Fatalf("%d slots", n)
	}
	for _, id := range []string{d.id, uuid.NewString()} {
		_, err := f.available(id, monday, monday.Add(7*24*time.Hour))
		testkit.WantReason(t, err, ReasonDoctorNotFound)
	}
	// Listed now (the profile completed): its slots show at once — an unlisted
	// doctor's settings are not kept (DoctorCacheTTL keeps only a listed doctor's).
	if p := f.upsertProfile(d, profile("America/Sao_Paulo", 25000, 0)); !p.GetListed() {
		t.Fatal("complete profile not listed")
	}
	if got := len(f.mustAvailable(d.id, monday, monday.Add(7*24*time.Hour)).GetSlots()); got == 0 {
		t.Error("no slot offered right after the doctor was listed")
	}
}

func TestListAvailableSlots_PriceAndTimeZoneComeFromTheDirectory(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.DoctorCacheTTL = 0 // asked at each listing
	f := newFixtureWith(t, cfg)
	d := f.newDoctor()
	f.upsertProfile(d, profile("America/Manaus", 18000, 0)) // UTC-4
	f.mustSet(d, mondayMornings())
	week := func() *schedulingv1.ListAvailableSlotsResponse {
		return f.mustAvailable(d.id, monday, monday.Add(7*24*time.Hour))
	}
	resp := week()
	wantTimes(t, "Manaus slots", protoStarts(resp.GetSlots()), utc("2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z", "2026-06-01T15:00:00Z"))
	if resp.GetPrice().GetAmountCents() != 18000 || resp.GetTimeZone() != "America/Manaus" {
		t.Errorf("price %v, time zone %q", resp.GetPrice(), resp.GetTimeZone())
	}

	f.upsertProfile(d, profile("America/Manaus", 32050, 0))
	if resp := week(); resp.GetPrice().GetAmountCents() != 32050 || resp.GetPrice().GetCurrency() != "BRL" {
		t.Errorf("after the price change: %v", resp.GetPrice())
	}
}

// TestListAvailableSlots_ShowsThePriceABookingWouldSnapshot: the listing keeps the
// doctor's settings as booking does (DoctorCacheTTL), so a week read right after a
// price change still shows the price a booking made then snapshots — and that the
// public answer may be cached for as long — rather than asking the directory at each
// read; a booking made then agrees with it.
func TestListAvailableSlots_ShowsThePriceABookingWouldSnapshot(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.newDoctor()
	f.upsertProfile(d, profile("America/Sao_Paulo", 18000, 0))
	f.mustSet(d, mondayMornings())
	if got := f.mustAvailable(d.id, monday, monday.Add(7*24*time.Hour)).GetPrice().GetAmountCents(); got != 18000 {
		t.Fatalf("price %d, want 18000", got)
	}
	f.upsertProfile(d, profile("America/Sao_Paulo", 32050, 0))
	resp := f.mustAvailable(d.id, monday, monday.Add(7*24*time.Hour))
	if got := resp.GetPrice().GetAmountCents(); got != 18000 {
		t.Errorf("price right after the change %d, want the kept 18000 (DoctorCacheTTL %s)", got, DefaultConfig().DoctorCacheTTL)
	}
	booked, err := f.bookAs(f.newPatient(), resp.GetSlots()[0].GetId(), "price-key")
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	if got := booked.GetAppointment().GetPrice().GetAmountCents(); got != resp.GetPrice().GetAmountCents() {
		t.Errorf("booked at %d, the listing showed %d", got, resp.GetPrice().GetAmountCents())
	}
}

func TestSchedulingRPCs_OnlyDoctorsManageAvailabilityAndSlots(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	slot := f.slotAt(d.id, at("2026-06-08T12:00:00Z"))
	patient := f.newPatient()
	ctx := context.Background()
	calls := map[string]func(token string) error{
		"SetAvailability": func(token string) error {
			_, err := f.client.SetAvailability(ctx, testkit.Authed(&schedulingv1.SetAvailabilityRequest{Availability: mondayMornings()}, token))
			return err
		},
		"GetAvailability": func(token string) error {
			_, err := f.client.GetAvailability(ctx, testkit.Authed(&schedulingv1.GetAvailabilityRequest{}, token))
			return err
		},
		"GetMyAgenda": func(token string) error {
			_, err := f.client.GetMyAgenda(ctx, testkit.Authed(&schedulingv1.GetMyAgendaRequest{StartTime: tsp(monday), EndTime: tsp(monday.Add(time.Hour))}, token))
			return err
		},
		"BlockSlot": func(token string) error {
			_, err := f.client.BlockSlot(ctx, testkit.Authed(&schedulingv1.BlockSlotRequest{SlotId: slot.id}, token))
			return err
		},
		"ReopenSlot": func(token string) error {
			_, err := f.client.ReopenSlot(ctx, testkit.Authed(&schedulingv1.ReopenSlotRequest{SlotId: slot.id}, token))
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			testkit.WantReason(t, call(patient.token), authn.ReasonRoleNotAllowed)
			testkit.WantReason(t, call(""), authn.ReasonTokenMissing)
		})
	}
	if got := f.slotAt(d.id, slot.start); got.status != "open" {
		t.Errorf("slot %s after refused calls", got.status)
	}
	// Anyone may list a listed doctor's free slots, with or without a token.
	if _, err := f.client.ListAvailableSlots(ctx, testkit.Authed(&schedulingv1.ListAvailableSlotsRequest{
		DoctorId: d.id, StartTime: tsp(monday), EndTime: tsp(monday.Add(time.Hour)),
	}, patient.token)); err != nil {
		t.Errorf("patient listing slots: %v", err)
	}
}

func TestBlockSlot_TransitionsAndRefusals(t *testing.T) {
	t.Parallel()
	a := newAgendaFixture(t) // now 13:30Z on 1 June
	f, d := a.fixture, a.doctor
	free := f.slotAt(d.id, at("2026-06-15T12:00:00Z"))
	past := f.slotAt(d.id, at("2026-06-01T12:00:00Z"))
	underWay := f.slotAt(d.id, at("2026-06-01T13:00:00Z"))
	other := f.listedDoctor()
	open, blocked := schedulingv1.SlotStatus_SLOT_STATUS_OPEN, schedulingv1.SlotStatus_SLOT_STATUS_BLOCKED

	steps := []struct {
		name   string
		call   func(user, string) (*schedulingv1.Slot, error)
		who    user
		slot   string
		want   schedulingv1.SlotStatus // on success
		reason errs.Reason             // of the refusal; the zero Reason on success
		stored string                  // the slot's status in the database afterwards
	}{
		{"block an open slot", f.block, d, free.id, blocked, errs.Reason{}, "blocked"},
		{"block it again: nothing changes", f.block, d, free.id, blocked, errs.Reason{}, "blocked"},
		{"another doctor cannot reopen it", f.reopen, other, free.id, 0, ReasonSlotNotFound, "blocked"},
		{"reopen it", f.reopen, d, free.id, open, errs.Reason{}, "open"},
		{"reopen it again: nothing changes", f.reopen, d, free.id, open, errs.Reason{}, "open"},
		{"another doctor cannot block it", f.block, other, free.id, 0, ReasonSlotNotFound, "open"},
		{"an unknown slot", f.block, d, uuid.NewString(), 0, ReasonSlotNotFound, ""},
		{"a booked slot", f.block, d, a.booked.id, 0, ReasonSlotBooked, "open"},
		{"a booked slot cannot be reopened either", f.reopen, d, a.booked.id, 0, ReasonSlotBooked, "open"},
		{"a past slot", f.block, d, past.id, 0, ReasonSlotPast, "open"},
		{"a slot under way", f.block, d, underWay.id, 0, ReasonSlotPast, "open"},
		{"the fixture's blocked slot reopens", f.reopen, d, a.blocked.id, open, errs.Reason{}, "open"},
	}
	for _, st := range steps {
		got, err := st.call(st.who, st.slot)
		if st.reason != (errs.Reason{}) {
			t.Run(st.name, func(t *testing.T) { testkit.WantReason(t, err, st.reason) })
		} else if err != nil || got.GetStatus() != st.want || got.GetId() != st.slot || got.GetDoctorId() != d.id {
			t.Errorf("%s: %v %v", st.name, got, err)
		}
		if st.stored != "" {
			var status string
			if err := f.db.QueryRow(context.Background(), `SELECT status FROM slots WHERE id = $1`, st.slot).Scan(&status); err != nil {
				t.Fatal(err)
			}
			if status != st.stored {
				t.Errorf("%s: slot stored as %s, want %s", st.name, status, st.stored)
			}
		}
	}

	// A blocked slot leaves the listing and comes back when reopened.
	listed := func() bool {
		resp := f.mustAvailable(d.id, free.start, free.end)
		return len(resp.GetSlots()) == 1 && resp.GetSlots()[0].GetId() == free.id
	}
	if _, err := f.block(d, free.id); err != nil || listed() {
		t.Errorf("blocked slot still listed (%v)", err)
	}
	if _, err := f.reopen(d, free.id); err != nil || !listed() {
		t.Errorf("reopened slot not listed (%v)", err)
	}
}

// The directory profile sets the time zone slots are generated in; the agenda answers
// in it even when the doctor's practice is unlisted.
func TestGetMyAgenda_UnlistedDoctorSeesOwnSlots(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.newDoctor()
	f.upsertProfile(d, &directoryv1.ProfileInput{DisplayName: "Dr. Sem Endereço", TimeZone: "America/Recife"})
	f.mustSet(d, mondayMornings())
	resp, err := f.agenda(d, monday, monday.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantTimes(t, "agenda", protoStarts(resp.GetSlots()), utc("2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z"))
	if resp.GetTimeZone() != "America/Recife" {
		t.Errorf("time zone %q", resp.GetTimeZone())
	}
}

func TestListAvailableSlots_OffersNoSlotInsideTheMinimumLead(t *testing.T) {
	t.Parallel()
	f := newFixture(t) // min lead 1h
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings()) // 12:00Z, 13:00Z, 14:00Z
	day := func() []*schedulingv1.Slot {
		return f.mustAvailable(d.id, at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z")).GetSlots()
	}

	// 11:00Z: the 12:00Z slot starts exactly the lead ahead, so it is still bookable and offered.
	f.clock.Advance(5 * time.Hour)
	wantTimes(t, "offered at 11:00Z", protoStarts(day()), utc("2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z"))

	// A second later it can no longer be booked, and it is no longer offered.
	f.clock.Advance(time.Second)
	slots := day()
	wantTimes(t, "offered at 11:00:01Z", protoStarts(slots), utc("2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z"))
	_, err := f.bookAs(f.newPatient(), f.slotAt(d.id, at("2026-06-01T12:00:00Z")).id, "too-late")
	testkit.WantReason(t, err, ReasonTooLateToBook)
	// Whatever is offered can be booked.
	for i, s := range slots {
		if _, err := f.bookAs(f.newPatient(), s.GetId(), fmt.Sprint("offered-", i)); err != nil {
			t.Errorf("book offered slot %s: %v", s.GetStartTime().AsTime().Format(time.RFC3339), err)
		}
	}
}
