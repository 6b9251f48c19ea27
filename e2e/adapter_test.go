package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/gen/healthcore/records/v1/recordsv1connect"
	"healthcore/internal/catalog"
	"healthcore/platform/errs"
	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
	"healthcore/services/blobs"
	"healthcore/services/meetings/meetingstest"
	"healthcore/services/telehealth"
)

// appt is a booked appointment and its patient's token.
type appt struct{ token, id, doctor string }

// haOutage is how long TestHA_AdapterOutage keeps each vendor unreachable: a few
// seconds in make test; go test -count=1 -run TestHA_AdapterOutage ./e2e/ -ha.outage=1m -v
// by hand.
var haOutage = flag.Duration("ha.outage", 5*time.Second, "how long TestHA_AdapterOutage keeps each vendor (PIX provider, Chime, S3) unreachable")

// TestHA_AdapterOutage runs the stack with its vendors behind proxies — the PIX
// provider (the sandbox, reached by the production Mercado Pago driver), Chime and S3
// (test doubles of their APIs, reached by the production drivers) — and cuts each in
// turn for -ha.outage, as when the vendor or the network to it is down. The gateway
// stays ready all along: a vendor's outage does not take it out (every other route
// still works, and every gateway would be out alike).
//
// PIX: bookings made meanwhile are accepted and wait PENDING_PAYMENT with their payment
// CREATING and no charge, while scheduling's ensure_payment job retries; the pix
// process's ops /readyz says its provider is DEGRADED and stays 200. Once the provider
// is back, every charge is made exactly once (the idempotency key is the payment's)
// and paying it completes the saga (AWAITING_DOCTOR).
//
// Chime: the doctor accepts those appointments meanwhile: each is CONFIRMED, waits for
// its room (joining is 503), and gets exactly one meeting once Chime is back.
//
// S3: an exam uploaded meanwhile fails with UNAVAILABLE and a reason; the same upload
// works once S3 is back.
func TestHA_AdapterOutage(t *testing.T) {
	// Chime and S3: the test doubles of their APIs, each behind a proxy of its own; the
	// meetings and blobs services run their production drivers against them, signing
	// with the credentials the Chime double checks.
	chime := meetingstest.New(t, testkit.NewClock(time.Now()))
	t.Setenv("AWS_ACCESS_KEY_ID", meetingstest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", meetingstest.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", meetingstest.SessionToken)
	s3 := s3mem.New()
	if err := s3.CreateBucket("healthcore-outage"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(s3).Server())
	t.Cleanup(s3srv.Close)
	pixProxy, chimeProxy, s3Proxy := startLB(t), startLB(t), startLB(t)
	chimeProxy.add(strings.TrimPrefix(chime.URL, "http://"))
	s3Proxy.add(strings.TrimPrefix(s3srv.URL, "http://"))

	dbURL := pgtest.URL(t, catalog.Schemas(catalog.Names())...)
	s := startStackOn(t, dbURL, "-pix.base-url=http://"+pixProxy.addr,
		"-meetings.driver=chime", "-meetings.region="+meetingstest.Region, "-meetings.endpoint=http://"+chimeProxy.addr,
		"-blobs.driver=s3", "-blobs.s3-bucket=healthcore-outage", "-blobs.s3-region=sa-east-1",
		"-blobs.s3-endpoint=http://"+s3Proxy.addr, "-blobs.s3-path-style",
		"-scheduling.jobs-max-backoff=2s", "-payments.jobs-max-backoff=2s", "-telehealth.jobs-max-backoff=2s",
		"-scheduling.payment-retry-after=1s",
		// Rooms open an hour before the start, and slots 45 minutes ahead may be booked:
		// the appointments booked here can be joined at once (a meeting made at Chime).
		// Their charges must expire at least 30 minutes after they are made: a charge
		// can wait 15 minutes for the provider.
		"-telehealth.join-early=1h", "-scheduling.min-lead=45m", "-scheduling.payment-window=45m",
		"-identity.register-per-address=1000000", "-scheduling.bookings-per-address=0", "-scheduling.bookings-per-patient=0",
	)
	pixProxy.add(strings.TrimPrefix(s.sandbox, "http://"))
	db := openPool(t, dbURL)

	// Two doctors, whose first slots (under an hour ahead) are booked during the outage.
	type agenda struct {
		token string
		slots []slotJSON
	}
	var doctors []agenda
	from := time.Now().Add(46 * time.Minute)
	for i, name := range []string{"Dra. Ana Souza", "Dr. João Pereira"} {
		id, token := s.openDoctor(name, fmt.Sprint(556677+i), fmt.Sprintf("medico%d.outage@clinica.com.br", i), 20000, 10, 0)
		var slots slotsJSON
		if code, _ := s.rest("GET", "/v1/doctors/"+id+"/slots"+rangeQuery(from, from.Add(24*time.Hour)), "", nil, &slots); code != http.StatusOK || len(slots.Slots) < 2 {
			t.Fatalf("slots: %d, %d", code, len(slots.Slots))
		}
		doctors = append(doctors, agenda{token, slots.Slots})
	}
	book := func(i int, doctor agenda, slot slotJSON) appt {
		t.Helper()
		token := s.loginPatient(fmt.Sprintf("paciente%d.outage@example.com", i), fmt.Sprintf("%09d", 512000000+i*7919))
		code, b, e := s.book(token, slot.ID, fmt.Sprintf("outage-booking-%d", i))
		if code != http.StatusOK {
			t.Fatalf("book %d: %d %s", i, code, reason(e))
		}
		if b.Appointment.State != "APPOINTMENT_STATE_PENDING_PAYMENT" {
			t.Fatalf("booking %d: %s", i, b.Appointment.State)
		}
		return appt{token: token, id: b.Appointment.ID, doctor: doctor.token}
	}

	// One booking while the provider answers: its charge is made at once (by the
	// booking's job, which the payment's long-poll waits for).
	before := book(2, doctors[0], doctors[0].slots[1])
	if p := s.waitQR(before.token, before.id); p.ProviderPaymentID == "" {
		t.Fatalf("booked while the provider answers, no charge: %+v", p)
	}

	// The provider goes away; bookings are still taken, and wait.
	pixProxy.cut()
	cutAt := time.Now()
	var during []appt
	for i, d := range doctors {
		during = append(during, book(i, d, d.slots[0]))
	}
	if code, _ := httpGet(s.gateway + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz answers %d while only the PIX provider is down, want 200", code)
	}
	// The pix process tells operators which dependency is degraded, and stays ready.
	awaitDependency(t, s, "pix", "pix provider", true)
	// Each booking's ensure_payment job has tried and failed, and waits to try again.
	var tried int
	waitFor(t, "every ensure_payment job to try while the provider is down", time.Minute, nil, func() bool {
		_ = db.QueryRow(context.Background(), `SELECT count(*) FROM scheduling.river_job
			WHERE kind = 'scheduling.ensure_payment' AND attempt >= 1 AND finalized_at IS NULL`).Scan(&tried)
		return tried == len(during)
	})
	if left := *haOutage - time.Since(cutAt); left > 0 {
		time.Sleep(left)
	}
	for i, a := range during {
		if got := s.appointment(a.token, a.id); got.State != "APPOINTMENT_STATE_PENDING_PAYMENT" {
			t.Errorf("booking %d after %s without the provider: %s, want PENDING_PAYMENT", i+1, *haOutage, got.State)
		}
		if p := s.payment(a.token, a.id); p.Status != "PAYMENT_STATUS_CREATING" || p.ProviderPaymentID != "" {
			t.Errorf("payment of booking %d after %s without the provider: %s %q, want CREATING without a charge", i+1, *haOutage, p.Status, p.ProviderPaymentID)
		}
	}

	// The provider is back: every waiting charge is made, once, and the saga goes on.
	pixProxy.restore()
	restoredAt := time.Now()
	var charged time.Duration
	for i, a := range during {
		s.pay(a.token, a.id, true) // waits for the charge
		charged = max(charged, time.Since(restoredAt))
		s.waitState(a.token, a.id, "APPOINTMENT_STATE_AWAITING_DOCTOR")
		t.Logf("booking %d: charged and paid after the outage", i+1)
	}
	awaitDependency(t, s, "pix", "pix provider", false)
	var charges, refs, payments int
	if err := db.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT external_reference) FROM pixsandbox.payments`).Scan(&charges, &refs); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM payments.payments`).Scan(&payments); err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(during); charges != want || refs != want || payments != want {
		t.Errorf("charges at the provider %d (%d distinct payments), payments %d; want %d each", charges, refs, payments, want)
	}
	t.Logf("PIX provider unreachable for %s: %d bookings taken meanwhile, PENDING_PAYMENT with payment CREATING, their ensure_payment jobs tried and waiting (%d); "+
		"every charge made (once) within %s of its return", restoredAt.Sub(cutAt).Round(time.Millisecond),
		len(during), tried, charged.Round(time.Millisecond))

	// Chime goes away; the doctor accepts the paid appointments meanwhile.
	chimeOutage(t, s, db, chime, chimeProxy, during)

	// S3 goes away; a patient's upload fails with a retryable error, and works after.
	s3Outage(t, s, s3Proxy, during[0].token)
}

// chimeOutage cuts Chime while the doctor accepts the appointments and their
// participants try to join: each is CONFIRMED at once (accepting needs no meeting),
// joining fails with 503 and a reason and leaves no meeting half made, and once Chime
// is back both participants join the one meeting each appointment gets.
func chimeOutage(t *testing.T, s *stack, db *pgxpool.Pool, chime *meetingstest.Chime, proxy *balancer, appts []appt) {
	t.Helper()
	proxy.cut()
	cutAt := time.Now()
	var refused string
	for _, a := range appts {
		var out struct{ Appointment appointmentJSON }
		if code, _ := s.rest("POST", "/v1/appointments/"+a.id+":accept", a.doctor, map[string]string{}, &out); code != http.StatusOK ||
			out.Appointment.State != "APPOINTMENT_STATE_CONFIRMED" {
			t.Fatalf("accept %s without Chime: %d %s", a.id, code, out.Appointment.State)
		}
		var e errorJSON
		code, _ := s.rest("GET", "/v1/appointments/"+a.id+"/join", a.token, nil, &e)
		if code != http.StatusServiceUnavailable || reason(e) != telehealth.ReasonMeetingsUnavailable.Name() {
			t.Errorf("join without Chime: %d %q, want 503 %s", code, reason(e), telehealth.ReasonMeetingsUnavailable.Name())
		}
		refused = reason(e)
	}
	if code, _ := httpGet(s.gateway + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz answers %d while only Chime is down, want 200", code)
	}
	awaitDependency(t, s, "meetings", "chime", true)
	if left := *haOutage - time.Since(cutAt); left > 0 {
		time.Sleep(left)
	}
	var meetings int
	if err := db.QueryRow(context.Background(), `SELECT count(provider_meeting_id) FROM telehealth.rooms`).Scan(&meetings); err != nil {
		t.Fatal(err)
	}
	if meetings != 0 {
		t.Errorf("%d rooms hold a meeting made while Chime was unreachable", meetings)
	}

	proxy.restore()
	restoredAt := time.Now()
	for _, a := range appts {
		var patient, doc joinInfoJSON
		if code, _ := s.rest("GET", "/v1/appointments/"+a.id+"/join", a.token, nil, &patient); code != http.StatusOK ||
			patient.Provider != "chime" || patient.MeetingJSON == "" || patient.AttendeeJSON == "" {
			t.Errorf("patient joins %s after Chime's return: %d %+v", a.id, code, patient)
		}
		if code, _ := s.rest("GET", "/v1/appointments/"+a.id+"/join", a.doctor, nil, &doc); code != http.StatusOK ||
			doc.MeetingJSON != patient.MeetingJSON || doc.AttendeeJSON == "" || doc.AttendeeJSON == patient.AttendeeJSON {
			t.Errorf("doctor joins %s after Chime's return: %d %+v, the patient %+v", a.id, code, doc, patient)
		}
	}
	joined := time.Since(restoredAt)
	awaitDependency(t, s, "meetings", "chime", false)
	created := 0
	for _, r := range chime.Received() {
		if r.Method == http.MethodPost && r.Path == "/meetings" {
			created++
		}
	}
	if err := db.QueryRow(context.Background(), `SELECT count(DISTINCT provider_meeting_id) FROM telehealth.rooms`).Scan(&meetings); err != nil {
		t.Fatal(err)
	}
	if created != len(appts) || meetings != len(appts) {
		t.Errorf("Chime created %d meetings, rooms hold %d, for %d appointments: want one each", created, meetings, len(appts))
	}
	t.Logf("Chime unreachable for %s: %d appointments accepted meanwhile (CONFIRMED), joining them 503 %s; "+
		"after its return both participants joined one meeting each (%d made at Chime) within %s",
		restoredAt.Sub(cutAt).Round(time.Millisecond), len(appts), refused, created, joined.Round(time.Millisecond))
}

// s3Outage cuts S3 while a patient uploads an exam: the upload fails with 503 and a
// reason (the client may retry), and the same upload works once S3 is back.
func s3Outage(t *testing.T, s *stack, proxy *balancer, token string) {
	t.Helper()
	exam := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("hemograma completo: leucócitos 6.500/mm³\n"), 500)...)
	client := recordsv1connect.NewRecordsServiceClient(s.httpsClient(s.public()), "https://"+s.addr["records"], connect.WithGRPC())
	upload := func() (*recordsv1.Document, error) {
		up := client.UploadDocument(context.Background())
		up.RequestHeader().Set("Authorization", "Bearer "+token)
		_ = up.Send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Metadata{Metadata: &recordsv1.UploadMetadata{
			Title: "Hemograma", Kind: recordsv1.DocumentKind_DOCUMENT_KIND_EXAM, ExamDate: "2026-11-20", ContentType: "application/pdf",
		}}})
		_ = up.Send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Chunk{Chunk: exam}})
		sum := sha256.Sum256(exam)
		_ = up.Send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Trailer{Trailer: &recordsv1.UploadTrailer{
			Size: int64(len(exam)), Sha256: hex.EncodeToString(sum[:]),
		}}})
		res, err := up.CloseAndReceive()
		if err != nil {
			return nil, err
		}
		return res.Msg.GetDocument(), nil
	}
	proxy.cut()
	cutAt := time.Now()
	_, failed := upload()
	if connect.CodeOf(failed) != connect.CodeUnavailable || !errs.Has(failed, blobs.ReasonStorageUnavailable) {
		t.Errorf("upload without S3: %v, want UNAVAILABLE %s", failed, blobs.ReasonStorageUnavailable.Name())
	}
	if code, _ := httpGet(s.gateway + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz answers %d while only S3 is down, want 200", code)
	}
	awaitDependency(t, s, "blobs", "s3", true)
	if left := *haOutage - time.Since(cutAt); left > 0 {
		time.Sleep(left)
	}
	proxy.restore()
	restoredAt := time.Now()
	doc, err := upload()
	if err != nil || doc.GetSizeBytes() != int64(len(exam)) {
		t.Fatalf("upload after S3's return: %v, %v", doc, err)
	}
	uploaded := time.Since(restoredAt)
	awaitDependency(t, s, "blobs", "s3", false)
	t.Logf("S3 unreachable for %s: the upload meanwhile failed %v (%s); the same upload worked %s after its return",
		restoredAt.Sub(cutAt).Round(time.Millisecond), connect.CodeOf(failed), errs.ReasonOf(failed), uploaded.Round(time.Millisecond))
}

// awaitDependency waits until the ops readiness (/readyz) of the process proc reports
// its dependency dep DEGRADED (or SERVING again), staying 200 either way: a vendor's
// outage degrades a process, it never makes it unready.
func awaitDependency(t *testing.T, s *stack, proc, dep string, degraded bool) {
	t.Helper()
	verdict, state := "ready\n", "\n"+dep+": SERVING\n"
	if degraded {
		verdict, state = "degraded\n", "\n"+dep+": DEGRADED: "
	}
	var seen string
	waitFor(t, fmt.Sprintf("%s to report %s %s", proc, dep, strings.TrimSpace(verdict)), 30*time.Second, &seen, func() bool {
		code, body := httpGet("http://" + s.ops[proc] + "/readyz")
		seen = fmt.Sprintf("%d %s", code, body)
		return code == http.StatusOK && strings.HasPrefix(body, verdict) && strings.Contains(body+"\n", state)
	})
}
