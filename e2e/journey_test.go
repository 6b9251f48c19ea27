package e2e

import (
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"healthcore/internal/catalog"
	"healthcore/platform/authn"
	"healthcore/platform/pgtest"
)

// startDev starts `healthcore dev` — every service, the gateway and the local drivers
// in one process, as `make run` does — on free loopback ports with a fresh database,
// and waits until the gateway is ready. Its gateway serves the mail sink's inbox at
// catalog.DevMailPath, which a stack of `serve` processes has no place for.
func startDev(t *testing.T, extra ...string) *stack {
	t.Helper()
	l, err := catalog.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t, catalog.Schemas(catalog.Names())...)
	// Service-token keys in a folder, so create-admin can call keys as identity.
	keys := t.TempDir()
	if err := authn.WriteServiceKeys(keys, catalog.Names()); err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, gateway: l.Gateway, sandbox: l.Sandbox, addr: l.Addr, ops: l.Ops, dbURL: dbURL, flags: l.Flags, keys: keys}
	args := append([]string{"dev", "-service-keys=" + keys,
		"-database-url=" + dbURL,
		"-data-dir=" + t.TempDir(),
		"-db-max-conns=4", // one process, a pool per service: stay well under PostgreSQL's 100
		"-gateway.addr=" + l.GatewayAddr,
		"-ops-addr=" + l.Ops["serve"],
	}, l.Flags...) // the services, the PIX sandbox, the mail sink and the WhatsApp sandbox on free ports
	args = append(args, extra...)
	s.spawnAs("dev", binary, args...)
	s.waitReady()
	return s
}

// mail is one message of the dev inbox.
type mail struct{ to, subject, text string }

var (
	inboxRow = regexp.MustCompile(`<td>([^<]*)</td>\s*<td><a href="` + regexp.QuoteMeta(catalog.DevMailPath) + `/(\d+)">([^<]*)</a>`)
	textPart = regexp.MustCompile(`(?s)<pre>(.*)</pre>`)
)

// inbox reads the dev inbox page, and each message's plain text, as a newcomer clicks
// through it.
func (s *stack) inbox() []mail {
	s.t.Helper()
	get := func(path string) string {
		resp, err := http.Get(s.gateway + path)
		if err != nil {
			s.t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			s.t.Fatalf("GET %s: HTTP %d", path, resp.StatusCode)
		}
		return string(b)
	}
	var out []mail
	for _, m := range inboxRow.FindAllStringSubmatch(get(catalog.DevMailPath), -1) {
		msg := mail{to: html.UnescapeString(m[1]), subject: html.UnescapeString(m[3])}
		if t := textPart.FindStringSubmatch(get(catalog.DevMailPath + "/" + m[2])); t != nil {
			msg.text = html.UnescapeString(t[1])
		}
		out = append(out, msg)
	}
	return out
}

// waitMail waits for the one message to the address whose subject starts with prefix.
func (s *stack) waitMail(to, prefix string) mail {
	s.t.Helper()
	var found []mail
	s.eventually("e-mail to "+to+": "+prefix, 60*time.Second, func() bool {
		found = nil
		for _, m := range s.inbox() {
			if strings.Contains(m.to, to) && strings.HasPrefix(m.subject, prefix) {
				found = append(found, m)
			}
		}
		return len(found) > 0
	})
	if len(found) != 1 {
		s.t.Fatalf("%d e-mails to %s starting %q, want 1", len(found), to, prefix)
	}
	return found[0]
}

// brTime is how the e-mails write a time: São Paulo's clock, "02/01/2006 às 15:04".
func brTime(t *testing.T, at time.Time) string {
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	return at.In(sp).Format("02/01/2006 às 15:04")
}

func TestDev_BookPayAccept_TheDoctorAndThePatientGetTheirEmails(t *testing.T) {
	s := startDev(t)
	const doctorEmail, patientEmail = "ana.avisos@clinica.com.br", "maria.avisos@example.com"
	doctorID, doctor := s.openDoctor("Dra. Ana Souza", "556677", doctorEmail, 25000, 0, 10)
	from := time.Now().Add(3 * time.Hour)
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(24*time.Hour)), "", nil, &slots)
	if len(slots.Slots) == 0 {
		t.Fatal("no free slots")
	}
	maria := s.loginPatient(patientEmail, "529982247")

	code, b, _ := s.book(maria, slots.Slots[0].ID, "maria-notified-booking")
	if code != http.StatusOK {
		t.Fatalf("book: HTTP %d", code)
	}
	id := b.Appointment.ID
	// Booked: the patient is sent the PIX code to pay.
	qr := s.waitQR(maria, id).QrCode
	pending := s.waitMail(patientEmail, "Consulta reservada")
	if qr == "" || !strings.Contains(pending.text, qr) {
		t.Errorf("booking e-mail %q has no PIX copy-and-paste code", pending.subject)
	}

	// Paid: the doctor's inbox has "answer by <deadline>".
	s.pay(maria, id, true)
	s.waitState(maria, id, "APPOINTMENT_STATE_AWAITING_DOCTOR")
	var awaiting struct {
		Appointment struct {
			AnswerDeadline time.Time `json:"answerDeadline"`
		}
	}
	s.rest("GET", "/v1/appointments/"+id, doctor, nil, &awaiting)
	deadline := brTime(t, awaiting.Appointment.AnswerDeadline)
	ask := s.waitMail(doctorEmail, "Nova consulta paga")
	if !strings.Contains(ask.subject, deadline) || !strings.Contains(ask.text, "Aceite ou recuse até") || !strings.Contains(ask.text, deadline) ||
		!strings.Contains(ask.text, "R$ 250,00") || !strings.Contains(ask.text, brTime(t, b.Appointment.StartTime)) {
		t.Errorf("doctor's e-mail: %q\n%s\nwant the deadline %s, the price and the time", ask.subject, ask.text, deadline)
	}

	// Accepted: the patient's inbox has the confirmation with the room link.
	if code, _ := s.rest("POST", "/v1/appointments/"+id+":accept", doctor, map[string]string{}, nil); code != http.StatusOK {
		t.Fatalf("accept: HTTP %d", code)
	}
	ok := s.waitMail(patientEmail, "Consulta confirmada")
	if !strings.Contains(ok.text, "/v1/appointments/"+id+"/join") || !strings.Contains(ok.text, brTime(t, b.Appointment.StartTime)) {
		t.Errorf("patient's confirmation: %q\n%s\nwant the room link and the time", ok.subject, ok.text)
	}
	// Each event reached its recipient once: the doctor got no copy of the patient's.
	for _, m := range s.inbox() {
		if strings.Contains(m.to, doctorEmail) && strings.HasPrefix(m.subject, "Consulta confirmada") {
			t.Errorf("the doctor got the patient's confirmation: %q", m.subject)
		}
	}
}

// notified lists the events of the caller's notifications, newest first.
func (s *stack) notified(token string) []string {
	s.t.Helper()
	var out struct {
		Notifications []struct {
			Event  string `json:"event"`
			Status string `json:"status"`
		} `json:"notifications"`
	}
	if code, _ := s.rest("GET", "/v1/me/notifications", token, nil, &out); code != http.StatusOK {
		s.t.Fatalf("list notifications: HTTP %d", code)
	}
	var events []string
	for _, n := range out.Notifications {
		events = append(events, n.Event+" "+n.Status)
	}
	return events
}

// TestMultiProcess_TransitionsReachNotificationsOverMutualTLS runs the same journey on
// a stack of separate processes, where scheduling and payments call notifications (and
// payments calls scheduling for a notice's start time) with their own certificates:
// each recipient's history lists what it was sent.
func TestMultiProcess_TransitionsReachNotificationsOverMutualTLS(t *testing.T) {
	s := startStack(t)
	doctorID, doctor := s.openDoctor("Dra. Ana Souza", "667788", "ana.mtls@clinica.com.br", 25000, 0, 10)
	from := time.Now().Add(3 * time.Hour)
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(24*time.Hour)), "", nil, &slots)
	if len(slots.Slots) == 0 {
		t.Fatal("no free slots")
	}
	maria := s.loginPatient("maria.mtls@example.com", "529982247")
	_, b, _ := s.book(maria, slots.Slots[0].ID, "maria-mtls-booking")
	has := func(events []string, want string) bool {
		for _, e := range events {
			if e == want {
				return true
			}
		}
		return false
	}
	// Maria pays once the code has reached her: payments drops the code's notice when
	// its job finds the payment already paid (a code to pay is no news then), so paying
	// at once would race the notice this test expects.
	s.eventually("the code's notice sent", 60*time.Second, func() bool {
		return has(s.notified(maria), "EVENT_BOOKING_PENDING_PAYMENT NOTIFICATION_STATUS_SENT")
	})
	s.pay(maria, b.Appointment.ID, true)
	s.waitState(maria, b.Appointment.ID, "APPOINTMENT_STATE_AWAITING_DOCTOR")
	if code, _ := s.rest("POST", "/v1/appointments/"+b.Appointment.ID+":accept", doctor, map[string]string{}, nil); code != http.StatusOK {
		t.Fatalf("accept: HTTP %d", code)
	}
	var patient, doc []string
	s.eventually("every notice sent", 60*time.Second, func() bool {
		patient, doc = s.notified(maria), s.notified(doctor)
		return has(patient, "EVENT_BOOKING_PENDING_PAYMENT NOTIFICATION_STATUS_SENT") &&
			has(patient, "EVENT_PAYMENT_RECEIVED NOTIFICATION_STATUS_SENT") &&
			has(patient, "EVENT_BOOKING_CONFIRMED NOTIFICATION_STATUS_SENT") &&
			has(doc, "EVENT_BOOKING_AWAITS_ANSWER NOTIFICATION_STATUS_SENT") &&
			has(doc, "EVENT_MFA_ENABLED NOTIFICATION_STATUS_SENT") // the doctor enrolled TOTP to answer
	})
	// Each one's registration verification link; the doctor was also told of the CRM
	// verification and the second factor enabled.
	if len(patient) != 4 || len(doc) != 4 || !has(doc, "EVENT_DOCTOR_VERIFICATION NOTIFICATION_STATUS_SENT") {
		t.Errorf("patient's notifications %v, doctor's %v: want one of each event", patient, doc)
	}
}
