package notifications

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/testkit"
)

func fieldMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func TestNotify_RepeatedKeySendsOneEmailAndReturnsTheFirst(t *testing.T) {
	f := newFixture(t)
	p, d := f.patient("Maria da Silva", "+5511987654321"), f.doctor("Dra. Ana Souza")
	start := time.Date(2026, 12, 7, 17, 30, 0, 0, time.UTC) // 14:30 in São Paulo
	req := appointment("appt-1-confirmed-patient", notificationsv1.Event_EVENT_BOOKING_CONFIRMED, p.id, p, d, start)
	first := f.notify(req)
	second := f.notify(req)
	if first.GetId() == "" || second.GetId() != first.GetId() {
		t.Fatalf("repeat returned %q, first %q", second.GetId(), first.GetId())
	}
	n := f.settled(first.GetId())
	if n.status != notificationsv1.NotificationStatus_NOTIFICATION_STATUS_SENT {
		t.Fatalf("status %s", n.status)
	}
	mails := f.mailTo(p.email)
	if len(mails) != 1 || f.sink.Received() != 1 {
		t.Fatalf("%d mails to the patient, %d received in all; want 1", len(mails), f.sink.Received())
	}
	m := mails[0]
	if m.Subject != "Consulta confirmada: segunda-feira, 07/12/2026 às 14:30" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"Olá, Maria!", "Dra. Ana Souza confirmou", DefaultAppBaseURL + "/v1/appointments/0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10/join"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, strings.ReplaceAll(want, "Olá, Maria!", "Olá, Maria!")) {
			t.Errorf("text or HTML lacks %q:\n%s\n%s", want, m.Text, m.HTML)
		}
	}
	if m.MessageID != first.GetId()+"-email@healthcore" {
		t.Errorf("Message-ID %q", m.MessageID)
	}
	if got := testutil.ToFloat64(f.svc.sent.WithLabelValues("email", "booking_confirmed", "sent")); got != 1 {
		t.Errorf("sent counter %v, want 1", got)
	}
	// The patient's history shows it, with its channel and provider id.
	resp, err := f.public.ListNotifications(context.Background(), testkit.Authed(&notificationsv1.ListNotificationsRequest{}, p.token))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Msg.GetNotifications(); len(got) != 1 || got[0].GetId() != first.GetId() || len(got[0].GetDeliveries()) != 1 ||
		got[0].GetDeliveries()[0].GetProviderMessageId() != "<"+m.MessageID+">" || got[0].GetSubject() != m.Subject {
		t.Fatalf("history %v", got)
	}
	// The doctor's history does not.
	resp, err = f.public.ListNotifications(context.Background(), testkit.Authed(&notificationsv1.ListNotificationsRequest{}, d.token))
	if err != nil || len(resp.Msg.GetNotifications()) != 0 {
		t.Fatalf("doctor's history %v, %v", resp.Msg.GetNotifications(), err)
	}
}

func TestNotify_KeyReusedForAnotherEventIsRefused(t *testing.T) {
	f := newFixture(t)
	p, d := f.patient("Maria da Silva", "+5511987654321"), f.doctor("Dra. Ana Souza")
	start := f.clock.Now().Add(48 * time.Hour)
	f.notify(appointment("appt-2-x", notificationsv1.Event_EVENT_BOOKING_CONFIRMED, p.id, p, d, start))
	_, err := f.internal.Notify(context.Background(), connectReq(appointment("appt-2-x", notificationsv1.Event_EVENT_BOOKING_REFUSED, p.id, p, d, start)))
	testkit.WantReason(t, err, ReasonIdempotencyKeyReused)
}

func TestDeliver_RunTwiceOrAfterACrashSendsOneMessagePerChannel(t *testing.T) {
	f := newFixture(t)
	p, d := f.patient("Maria da Silva", "+5511987654321"), f.doctor("Dra. Ana Souza")
	n := f.notify(appointment("appt-3-awaits-doctor", notificationsv1.Event_EVENT_BOOKING_AWAITS_ANSWER, d.id, p, d, f.clock.Now().Add(48*time.Hour)))
	f.settled(n.GetId())
	if f.sink.Received() != 1 {
		t.Fatalf("received %d", f.sink.Received())
	}
	// The job again (a duplicate job, a retry after the record): nothing more is sent.
	if err := f.deliverNow(n.GetId()); err != nil {
		t.Fatal(err)
	}
	if f.sink.Received() != 1 {
		t.Fatalf("a second run sent again: received %d", f.sink.Received())
	}
	// The state a crash between the provider's answer and our record leaves: SENDING,
	// no provider id. The next attempt sends once more, with the same Message-ID, which
	// the inbox (as mailbox providers do) keeps as one message.
	if _, err := f.db.Exec(context.Background(), `UPDATE deliveries SET status = 1, provider_message_id = NULL WHERE notification_id = $1`, n.GetId()); err != nil {
		t.Fatal(err)
	}
	if err := f.deliverNow(n.GetId()); err != nil {
		t.Fatal(err)
	}
	mails := f.mailTo(d.email)
	if f.sink.Received() != 2 || len(mails) != 1 || mails[0].Copies != 2 || mails[0].MessageID != n.GetId()+"-email@healthcore" {
		t.Fatalf("received %d, inbox %v", f.sink.Received(), mails)
	}
	st := f.stored(n.GetId())
	if dl := st.find(notificationsv1.Channel_CHANNEL_EMAIL); dl == nil || dl.status != notificationsv1.DeliveryStatus_DELIVERY_STATUS_SENT || dl.attempts != 2 {
		t.Fatalf("delivery %+v", dl)
	}
	if !strings.Contains(mails[0].Text, "Maria agendou e pagou") || !strings.Contains(mails[0].Subject, "responda até") {
		t.Errorf("doctor's mail: %q\n%s", mails[0].Subject, mails[0].Text)
	}
}

func TestDeliver_BounceIsRecordedAsAPermanentFailure(t *testing.T) {
	f := newFixture(t)
	p, d := f.patient("Maria da Silva", "+5511987654321"), f.doctor("Dra. Ana Souza")
	f.sink.Refuse(p.email)
	n := f.settled(f.notify(appointment("appt-4-refused-patient", notificationsv1.Event_EVENT_BOOKING_REFUSED, p.id, p, d, f.clock.Now().Add(48*time.Hour))).GetId())
	dl := n.find(notificationsv1.Channel_CHANNEL_EMAIL)
	if n.status != notificationsv1.NotificationStatus_NOTIFICATION_STATUS_FAILED || dl == nil ||
		dl.status != notificationsv1.DeliveryStatus_DELIVERY_STATUS_FAILED || !strings.HasPrefix(dl.failure, "bounce: 550") {
		t.Fatalf("notification %s, delivery %+v", n.status, dl)
	}
	if got := testutil.ToFloat64(f.svc.sent.WithLabelValues("email", "booking_refused", "failed")); got != 1 {
		t.Errorf("failed counter %v", got)
	}
}

func TestPreferences_WhatsAppNeedsConsentAndThenCarriesTheMessage(t *testing.T) {
	f := newFixture(t)
	p, d := f.patient("Maria da Silva", "+5511987654321"), f.doctor("Dra. Ana Souza")
	ctx := context.Background()
	_, err := f.public.UpdatePreferences(ctx, testkit.Authed(&notificationsv1.UpdatePreferencesRequest{
		Preferences: &notificationsv1.Preferences{Whatsapp: true}, UpdateMask: fieldMask("whatsapp")}, p.token))
	testkit.WantReason(t, err, ReasonConsentRequired)
	_, err = f.public.UpdatePreferences(ctx, testkit.Authed(&notificationsv1.UpdatePreferencesRequest{
		Preferences: &notificationsv1.Preferences{Email: false}, UpdateMask: fieldMask("email")}, p.token))
	testkit.WantReason(t, err, ReasonUpdateMaskInvalid)
	f.optIn(p)
	got, err := f.public.GetPreferences(ctx, testkit.Authed(&notificationsv1.GetPreferencesRequest{}, p.token))
	if err != nil {
		t.Fatal(err)
	}
	pr := got.Msg.GetPreferences()
	if !pr.GetWhatsapp() || !pr.GetEmail() || pr.GetConsentTextVersion() != "whatsapp-v1" || pr.GetConsentSource() != "app" ||
		!pr.GetConsentTime().AsTime().Equal(f.clock.Now()) || pr.GetQuietStart() != "22:00" || pr.GetQuietEnd() != "08:00" {
		t.Fatalf("preferences %v", pr)
	}
	cs, err := f.svc.preferences.consents(ctx, f.db, p.id)
	if err != nil || len(cs) != 1 || !cs[0].granted || cs[0].version != "whatsapp-v1" || cs[0].source != "app" {
		t.Fatalf("consent log %+v, %v", cs, err)
	}

	n := f.settled(f.notify(appointment("appt-5-confirmed-patient", notificationsv1.Event_EVENT_BOOKING_CONFIRMED, p.id, p, d,
		time.Date(2026, 12, 7, 17, 30, 0, 0, time.UTC))).GetId())
	msgs := f.whatsappTo(p.phone)
	if len(msgs) != 1 || msgs[0].Template != "hc_consulta_confirmada" || strings.Join(msgs[0].BodyParams, "|") != "Maria|Dra. Ana Souza|segunda-feira, 07/12/2026 às 14:30" {
		t.Fatalf("whatsapp %+v", msgs)
	}
	if len(f.mailTo(p.email)) != 0 {
		t.Fatalf("an opted-in patient also got the e-mail")
	}
	if dl := n.find(notificationsv1.Channel_CHANNEL_WHATSAPP); dl == nil || dl.providerID == nil || *dl.providerID != msgs[0].ID {
		t.Fatalf("delivery %+v", dl)
	}
	// The sandbox's signed webhooks move it to DELIVERED.
	f.waitFor("delivered", func() bool {
		st := f.stored(n.id)
		dl := st.find(notificationsv1.Channel_CHANNEL_WHATSAPP)
		return dl.status == notificationsv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED
	})
	// Turning it off logs the withdrawal.
	if _, err := f.public.UpdatePreferences(ctx, testkit.Authed(&notificationsv1.UpdatePreferencesRequest{
		Preferences: &notificationsv1.Preferences{}, UpdateMask: fieldMask("whatsapp")}, p.token)); err != nil {
		t.Fatal(err)
	}
	cs, _ = f.svc.preferences.consents(ctx, f.db, p.id)
	if len(cs) != 2 || cs[1].granted {
		t.Fatalf("consent log %+v", cs)
	}
}

func TestDeliver_WhatsAppPermanentFailureFallsBackToEmail(t *testing.T) {
	for _, tc := range []struct {
		name, phone string
	}{
		{"refused at once", "+5511987650000"},
		{"failed by status webhook", "+5511987650001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p, d := f.patient("Maria da Silva", tc.phone), f.doctor("Dra. Ana Souza")
			f.optIn(p)
			n := f.notify(appointment("appt-6-confirmed-patient", notificationsv1.Event_EVENT_BOOKING_CONFIRMED, p.id, p, d, f.clock.Now().Add(48*time.Hour)))
			// Settled: the fallback e-mail's provider id is recorded.
			var st notification
			f.waitFor("the fallback e-mail recorded", func() bool {
				st = f.stored(n.GetId())
				em := st.find(notificationsv1.Channel_CHANNEL_EMAIL)
				return em != nil && em.status == notificationsv1.DeliveryStatus_DELIVERY_STATUS_SENT &&
					st.status != notificationsv1.NotificationStatus_NOTIFICATION_STATUS_PENDING
			})
			if got := f.mailTo(p.email); len(got) != 1 || got[0].Copies != 1 {
				t.Fatalf("mail to the patient: %+v", got)
			}
			wa, em := st.find(notificationsv1.Channel_CHANNEL_WHATSAPP), st.find(notificationsv1.Channel_CHANNEL_EMAIL)
			if wa == nil || wa.status != notificationsv1.DeliveryStatus_DELIVERY_STATUS_FAILED || !strings.Contains(wa.failure, "131026") {
				t.Fatalf("whatsapp delivery %+v", wa)
			}
			if em == nil || !em.fallback || em.status != notificationsv1.DeliveryStatus_DELIVERY_STATUS_SENT {
				t.Fatalf("e-mail delivery %+v", em)
			}
			if st.status != notificationsv1.NotificationStatus_NOTIFICATION_STATUS_SENT {
				t.Fatalf("status %s", st.status)
			}
		})
	}
}

func TestQuietHours_HoldTheReminderButNotTheUrgentMessage(t *testing.T) {
	f := newFixture(t)
	p, d := f.patient("Maria da Silva", "+5511987654321"), f.doctor("Dra. Ana Souza")
	// 23:30 in São Paulo.
	f.clock.Advance(time.Date(2026, 12, 3, 2, 30, 0, 0, time.UTC).Sub(f.clock.Now()))
	start := f.clock.Now().Add(24 * time.Hour)
	reminder := f.notify(appointment("appt-7-reminder-24h-patient", notificationsv1.Event_EVENT_REMINDER_24H, p.id, p, d, start))
	urgent := f.notify(appointment("appt-7-deadline-near-doctor", notificationsv1.Event_EVENT_ANSWER_DEADLINE_NEAR, d.id, p, d, start))
	f.settled(urgent.GetId())
	f.waitFor("the reminder to be held", func() bool { return f.stored(reminder.GetId()).scheduled.After(f.clock.Now()) })
	r := f.stored(reminder.GetId())
	if want := time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC); !r.scheduled.Equal(want) || r.status != notificationsv1.NotificationStatus_NOTIFICATION_STATUS_PENDING {
		t.Fatalf("reminder scheduled %s (%s), want %s", r.scheduled, r.status, want)
	}
	if len(f.mailTo(p.email)) != 0 || len(f.mailTo(d.email)) != 1 {
		t.Fatalf("patient %d mails, doctor %d", len(f.mailTo(p.email)), len(f.mailTo(d.email)))
	}
}

func TestQuietUntil(t *testing.T) {
	sp := saoPaulo
	for _, tc := range []struct {
		now        time.Time
		start, end int
		want       time.Time
	}{
		{time.Date(2026, 12, 2, 23, 0, 0, 0, sp), 22 * 60, 8 * 60, time.Date(2026, 12, 3, 8, 0, 0, 0, sp)},
		{time.Date(2026, 12, 3, 7, 59, 0, 0, sp), 22 * 60, 8 * 60, time.Date(2026, 12, 3, 8, 0, 0, 0, sp)},
		{time.Date(2026, 12, 3, 8, 0, 0, 0, sp), 22 * 60, 8 * 60, time.Time{}},
		{time.Date(2026, 12, 3, 13, 0, 0, 0, sp), 12 * 60, 14 * 60, time.Date(2026, 12, 3, 14, 0, 0, 0, sp)},
		{time.Date(2026, 12, 3, 23, 0, 0, 0, sp), 22 * 60, 22 * 60, time.Time{}},
	} {
		if got := quietUntil(tc.now, sp, tc.start, tc.end); !got.Equal(tc.want) {
			t.Errorf("quietUntil(%s, %d, %d) = %s, want %s", tc.now, tc.start, tc.end, got, tc.want)
		}
	}
}

func TestDeliver_DigestOnlyWhenOptedInAndDoctorsWithoutPhoneGetEmail(t *testing.T) {
	f := newFixture(t)
	p, d := f.patient("Maria da Silva", "+5511987654321"), f.doctor("Dra. Ana Souza")
	ctx := context.Background()
	digest := func(key string) *notificationsv1.NotifyRequest {
		return &notificationsv1.NotifyRequest{IdempotencyKey: key, Event: notificationsv1.Event_EVENT_SHARED_DOCUMENTS_READ_DIGEST, RecipientId: p.id,
			Detail: &notificationsv1.NotifyRequest_Digest{Digest: &notificationsv1.DigestDetail{Day: "2026-12-01", Reads: 3, DoctorIds: []string{d.id}}}}
	}
	n := f.settled(f.notify(digest("digest-2026-12-01-patient")).GetId())
	if n.status != notificationsv1.NotificationStatus_NOTIFICATION_STATUS_SUPPRESSED || len(f.mailTo(p.email)) != 0 {
		t.Fatalf("digest without opt-in: %s, %d mails", n.status, len(f.mailTo(p.email)))
	}
	if _, err := f.public.UpdatePreferences(ctx, testkit.Authed(&notificationsv1.UpdatePreferencesRequest{
		Preferences: &notificationsv1.Preferences{ReadDigest: true, QuietStart: "00:00", QuietEnd: "00:00"},
		UpdateMask:  fieldMask("read_digest", "quiet_start", "quiet_end")}, p.token)); err != nil {
		t.Fatal(err)
	}
	n = f.settled(f.notify(digest("digest-2026-12-02-patient")).GetId())
	mails := f.mailTo(p.email)
	if n.status != notificationsv1.NotificationStatus_NOTIFICATION_STATUS_SENT || len(mails) != 1 ||
		!strings.Contains(mails[0].Text, "abertos 3 vez(es) por: Dra. Ana Souza") || mails[0].Subject != "Resumo de 01/12/2026: seus documentos foram lidos" {
		t.Fatalf("digest: %s %+v", n.status, mails)
	}

	// A doctor registers no phone: opted in, the message goes by e-mail as a fallback.
	f.optIn(d)
	n = f.settled(f.notify(appointment("appt-9-awaits-doctor", notificationsv1.Event_EVENT_BOOKING_AWAITS_ANSWER, d.id, p, d, f.clock.Now().Add(48*time.Hour))).GetId())
	wa, em := n.find(notificationsv1.Channel_CHANNEL_WHATSAPP), n.find(notificationsv1.Channel_CHANNEL_EMAIL)
	if wa == nil || wa.failure != "no phone number" || em == nil || !em.fallback || len(f.mailTo(d.email)) != 1 {
		t.Fatalf("doctor: whatsapp %+v, e-mail %+v", wa, em)
	}
}

func TestListNotifications_PagesNewestFirst(t *testing.T) {
	f := newFixture(t)
	p, d := f.patient("Maria da Silva", "+5511987654321"), f.doctor("Dra. Ana Souza")
	var ids []string
	for i := range 3 {
		ids = append(ids, f.notify(appointment(fmt.Sprintf("appt-10-%d-patient", i), notificationsv1.Event_EVENT_BOOKING_CONFIRMED, p.id, p, d, f.clock.Now().Add(48*time.Hour))).GetId())
		f.clock.Advance(time.Second)
	}
	var got []string
	token := ""
	for {
		resp, err := f.public.ListNotifications(context.Background(), testkit.Authed(&notificationsv1.ListNotificationsRequest{PageSize: 2, PageToken: token}, p.token))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range resp.Msg.GetNotifications() {
			got = append(got, n.GetId())
		}
		if token = resp.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	if want := []string{ids[2], ids[1], ids[0]}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("pages %v, want %v", got, want)
	}
}

// deliverNow runs the delivery job's work once more, as a duplicate job would, waiting
// for the job that settled it to let go of it first.
func (f *fixture) deliverNow(id string) error {
	var err error
	f.waitFor("the notification's lease", func() bool {
		err = f.svc.deliver(context.Background(), id)
		var snooze *river.JobSnoozeError
		return !errors.As(err, &snooze)
	})
	return err
}

func TestDeliver_AccountLinksOpenTheirPage_AndAnEmailChangeGoesToTheNewAddress(t *testing.T) {
	f := newFixture(t)
	p := f.patient("Maria da Silva", "+5511987654321")
	link := func(key string, e notificationsv1.Event, to string) *notificationsv1.NotifyRequest {
		return &notificationsv1.NotifyRequest{IdempotencyKey: key, Event: e, RecipientId: p.id,
			Detail: &notificationsv1.NotifyRequest_Link{Link: &notificationsv1.AccountLinkDetail{
				Token: "q7Xo2mJ0c9vYw1bZkP4sT8eHfR3uN6aL5dG0iK2xQ9E", Time: timestamppb.New(f.clock.Now()),
				ExpireTime: timestamppb.New(f.clock.Now().Add(30 * time.Minute)), Email: to}}}
	}
	f.settled(f.notify(link("link-1", notificationsv1.Event_EVENT_PASSWORD_RESET, "")).GetId())
	f.settled(f.notify(link("link-2", notificationsv1.Event_EVENT_EMAIL_CHANGE_VERIFICATION, "nova@example.com")).GetId())

	reset := f.mailTo(p.email)
	if len(reset) != 1 || !strings.Contains(reset[0].Text, DefaultAppBaseURL+"/app/reset-password?token=q7Xo2mJ0c9vYw1bZkP4sT8eHfR3uN6aL5dG0iK2xQ9E") {
		t.Fatalf("mails to the account's address: %+v, want the reset link", reset)
	}
	change := f.mailTo("nova@example.com")
	if len(change) != 1 || !strings.Contains(change[0].Text, DefaultAppBaseURL+"/app/verify-email?token=q7Xo2mJ0c9vYw1bZkP4sT8eHfR3uN6aL5dG0iK2xQ9E") {
		t.Fatalf("mails to the new address: %+v, want the confirmation link", change)
	}
	// A link event with another event's detail is refused.
	_, err := f.internal.Notify(context.Background(), connect.NewRequest(&notificationsv1.NotifyRequest{
		IdempotencyKey: "link-3", Event: notificationsv1.Event_EVENT_EMAIL_VERIFICATION, RecipientId: p.id,
		Detail: &notificationsv1.NotifyRequest_Security{Security: &notificationsv1.SecurityDetail{Time: timestamppb.New(f.clock.Now())}}}))
	testkit.WantReason(t, err, ReasonDetailMismatch)
}
