package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"healthcore/services/scheduling"
)

type appointmentJSON struct {
	ID          string    `json:"id"`
	SlotID      string    `json:"slotId"`
	State       string    `json:"state"`
	StartTime   time.Time `json:"startTime"`
	RefundCents string    `json:"refundCents"`
	JoinPath    string    `json:"joinPath"`
	Price       struct {
		AmountCents string `json:"amountCents"`
	} `json:"price"`
	History []struct {
		Kind      string `json:"kind"`
		ActorRole string `json:"actorRole"`
		Reason    string `json:"reason"`
	} `json:"history"`
}

type paymentJSON struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	ProviderPaymentID string `json:"providerPaymentId"`
	QrCode            string `json:"qrCode"`
	AmountCents       string `json:"amountCents"`
	RefundedCents     string `json:"refundedCents"`
}

type bookingJSON struct {
	Appointment appointmentJSON `json:"appointment"`
	Payment     *struct {
		PaymentID    string    `json:"paymentId"`
		Status       string    `json:"status"`
		PaymentPath  string    `json:"paymentPath"`
		QrCode       string    `json:"qrCode"`
		QrCodeBase64 string    `json:"qrCodeBase64"`
		ExpireTime   time.Time `json:"expireTime"`
	} `json:"payment"`
}

// loginPatient registers a patient (CPF from nine digits) and logs in.
func (s *stack) loginPatient(email, nine string) string {
	s.t.Helper()
	code, _ := s.rest("POST", "/v1/accounts/patients", "", map[string]string{
		"name": "Maria da Silva", "email": email, "cpf": cpfFrom(nine),
		"password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1985-04-12",
	}, nil)
	if code != http.StatusAccepted {
		s.t.Fatalf("register patient %s: %d", email, code)
	}
	s.verifyEmail(email) // patients book and share with a confirmed address
	var login struct{ Tokens tokenPair }
	s.rest("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": "correct horse battery"}, &login)
	if login.Tokens.AccessToken == "" {
		s.t.Fatalf("patient login %s failed", email)
	}
	return login.Tokens.AccessToken
}

// cpfFrom completes nine digits with CPF's two check digits.
func cpfFrom(nine string) string {
	d := []byte(nine)
	for _, n := range []int{9, 10} {
		sum := 0
		for i := range n {
			sum += int(d[i]-'0') * (n + 1 - i)
		}
		c := sum * 10 % 11 % 10
		d = append(d, byte('0'+c))
	}
	return string(d)
}

// eventually polls f until it is true, or fails after limit.
func (s *stack) eventually(what string, limit time.Duration, f func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *stack) appointment(token, id string) appointmentJSON {
	s.t.Helper()
	var out struct{ Appointment appointmentJSON }
	if code, _ := s.rest("GET", "/v1/appointments/"+id, token, nil, &out); code != http.StatusOK {
		s.t.Fatalf("get appointment %s: %d", id, code)
	}
	return out.Appointment
}

func (s *stack) payment(token, apptID string) paymentJSON {
	s.t.Helper()
	var out struct{ Payment paymentJSON }
	if code, _ := s.rest("GET", "/v1/appointments/"+apptID+"/payment", token, nil, &out); code != http.StatusOK {
		s.t.Fatalf("get payment of %s: %d", apptID, code)
	}
	return out.Payment
}

func (s *stack) book(token, slotID, key string) (int, bookingJSON, errorJSON) {
	s.t.Helper()
	var ok bookingJSON
	var e errorJSON
	var raw json.RawMessage
	code, _ := s.rest("POST", "/v1/appointments", token, map[string]string{
		"slotId": slotID, "idempotencyKey": key, "reason": "palpitações há uma semana",
	}, &raw)
	into := any(&ok)
	if code != http.StatusOK {
		into = &e
	}
	if err := json.Unmarshal(raw, into); err != nil {
		s.t.Fatalf("book %s: HTTP %d: %v: %s", slotID, code, err, raw)
	}
	return code, ok, e
}

// pay approves (or rejects) the appointment's charge in the PIX sandbox, as the payer's
// bank would; the sandbox then sends its signed webhook to the gateway.
// waitQR waits, with the payment's long-poll, for the charge a booking's job creates:
// the payment PENDING (or further) with its PIX code. Right after booking the payment
// may not be recorded yet (404 once the wait is over): then it asks again.
func (s *stack) waitQR(token, apptID string) paymentJSON {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out struct{ Payment paymentJSON }
		code, _ := s.rest("GET", "/v1/appointments/"+apptID+"/payment?wait=10s&knownStatus=PAYMENT_STATUS_CREATING", token, nil, &out)
		if code == http.StatusOK && out.Payment.Status != "PAYMENT_STATUS_CREATING" {
			if out.Payment.Status == "PAYMENT_STATUS_PENDING" && out.Payment.QrCode == "" {
				s.t.Fatalf("payment of %s PENDING without its PIX code: %+v", apptID, out.Payment)
			}
			return out.Payment
		}
		if code != http.StatusOK && code != http.StatusNotFound {
			s.t.Fatalf("wait for the payment of %s: HTTP %d", apptID, code)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("payment of %s: no charge within 30s (HTTP %d, %+v)", apptID, code, out.Payment)
		}
	}
}

func (s *stack) pay(token, apptID string, approve bool) {
	s.t.Helper()
	p := s.waitQR(token, apptID)
	action := "approve"
	if !approve {
		action = "reject"
	}
	req, _ := http.NewRequest("POST", s.sandbox+"/sandbox/payments/"+p.ProviderPaymentID+"/"+action, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("sandbox %s: HTTP %d", action, resp.StatusCode)
	}
}

func (s *stack) waitState(token, id, state string) appointmentJSON {
	s.t.Helper()
	var a appointmentJSON
	s.eventually("appointment "+state, 30*time.Second, func() bool {
		a = s.appointment(token, id)
		return a.State == state
	})
	return a
}

// openDoctor registers a doctor (CRM number/SP), has an operator verify it over REST,
// and gives it a listed São Paulo profile at
// priceCents and availability every day around the clock, in slots of slotMinutes (0:
// the profile's 50 minutes) gapMinutes apart, and returns the doctor's id and token.
func (s *stack) openDoctor(name, crm, email string, priceCents, slotMinutes, gapMinutes int) (id, token string) {
	s.t.Helper()
	id, token = s.loginDoctor(name, crm, email)
	if code, _ := s.rest("PUT", "/v1/doctors/me/profile", token, map[string]any{
		"displayName": name, "priceCents": priceCents, "timeZone": "America/Sao_Paulo",
		"specialties": []map[string]string{{"code": "cardiologia"}},
		"location": map[string]any{"address": "Av. Paulista, 1000", "city": "São Paulo", "uf": "SP",
			"point": map[string]float64{"latitude": -23.5505, "longitude": -46.6333}},
	}, nil); code != http.StatusOK {
		s.t.Fatalf("profile of %s: %d", name, code)
	}
	// Identity's verdict reaches the directory by a job.
	s.eventually("the verified doctor is listed", 30*time.Second, func() bool {
		code, _ := s.rest("GET", "/v1/doctors/"+id, "", nil, nil)
		return code == http.StatusOK
	})
	var weekly []map[string]string
	for _, d := range []string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"} {
		weekly = append(weekly, map[string]string{"weekday": "WEEKDAY_" + d, "startTime": "00:00", "endTime": "24:00"})
	}
	if code, _ := s.rest("PUT", "/v1/doctors/me/availability", token, map[string]any{
		"weekly": weekly, "slotMinutes": slotMinutes, "gapMinutes": gapMinutes,
	}, nil); code != http.StatusOK {
		s.t.Fatalf("availability of %s: %d", name, code)
	}
	return id, token
}

func TestMultiProcess_BookPayByPIXAcceptRefuseCancelExpire(t *testing.T) {
	const poolSize = 5 // each process's pool, below the default so its gauge proves the flag
	s := startStack(t, fmt.Sprintf("-db-max-conns=%d", poolSize))
	doctorID, doctor := s.openDoctor("Dra. Ana Souza", "223344", "ana.booking@clinica.com.br", 25000, 0, 10)
	from := time.Now().Add(2 * time.Hour)
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(72*time.Hour)), "", nil, &slots)
	if len(slots.Slots) < 30 {
		t.Fatalf("only %d free slots", len(slots.Slots))
	}
	maria := s.loginPatient("maria.booking@example.com", "529982247")
	joao := s.loginPatient("joao.booking@example.com", "111444777")

	// Book: the slot is held, the price snapshotted, the payment CREATING (its charge is
	// made by a job); the PIX code comes on the payment's long-poll. A retry with the
	// same key answers the same appointment and charge; another patient gets SLOT_TAKEN.
	code, b, _ := s.book(maria, slots.Slots[0].ID, "maria-first-booking")
	if code != http.StatusOK || b.Appointment.State != "APPOINTMENT_STATE_PENDING_PAYMENT" || b.Payment == nil ||
		b.Payment.Status != "PAYMENT_STATUS_CREATING" || b.Payment.QrCode != "" ||
		b.Payment.PaymentPath != "/v1/appointments/"+b.Appointment.ID+"/payment" || b.Appointment.Price.AmountCents != "25000" {
		t.Fatalf("book: %d %+v", code, b)
	}
	charged := s.waitQR(maria, b.Appointment.ID)
	if charged.Status != "PAYMENT_STATUS_PENDING" || charged.QrCode == "" || charged.AmountCents != "25000" {
		t.Fatalf("payment after the wait: %+v", charged)
	}
	// Known to be PENDING: the long-poll waits (nothing changes here) and then answers
	// the payment as it stands, 200.
	var still struct{ Payment paymentJSON }
	if code, _ := s.rest("GET", "/v1/appointments/"+b.Appointment.ID+"/payment?wait=1s&knownStatus=PAYMENT_STATUS_PENDING", maria, nil, &still); code != http.StatusOK || still.Payment.Status != "PAYMENT_STATUS_PENDING" {
		t.Fatalf("long-poll with nothing new: %d %+v", code, still.Payment)
	}
	// More than 30 s is refused by the API's rules.
	if code, _ := s.rest("GET", "/v1/appointments/"+b.Appointment.ID+"/payment?wait=31s", maria, nil, nil); code != http.StatusBadRequest {
		t.Fatalf("wait=31s: HTTP %d, want 400", code)
	}
	_, again, _ := s.book(maria, slots.Slots[0].ID, "maria-first-booking")
	if again.Appointment.ID != b.Appointment.ID || again.Payment == nil || again.Payment.PaymentID != charged.ID ||
		again.Payment.QrCode != charged.QrCode || again.Payment.Status != "PAYMENT_STATUS_PENDING" {
		t.Fatalf("retry returned %+v, want the same appointment and charge", again)
	}
	code, _, e := s.book(joao, slots.Slots[0].ID, "joao-same-slot")
	if code != http.StatusBadRequest || reason(e) != scheduling.ReasonSlotTaken.Name() {
		t.Fatalf("second booker: %d %+v", code, e)
	}

	// A forged notification is refused and changes nothing.
	req, _ := http.NewRequest("POST", s.gateway+"/webhooks/mercadopago?data.id=1&type=payment", nil)
	req.Header.Set("x-signature", "ts=1700000000,v1=00")
	req.Header.Set("x-request-id", "forged")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged webhook: HTTP %d, want 401", resp.StatusCode)
	}

	// Pay → AWAITING_DOCTOR → the doctor accepts → both see CONFIRMED.
	s.pay(maria, b.Appointment.ID, true)
	s.waitState(maria, b.Appointment.ID, "APPOINTMENT_STATE_AWAITING_DOCTOR")
	s.appointmentGauges(0, 1, 0) // scheduling's /metrics: paid, waiting for the doctor
	if p := s.payment(doctor, b.Appointment.ID); p.Status != "PAYMENT_STATUS_PAID" || p.AmountCents != "25000" {
		t.Fatalf("payment seen by the doctor: %+v", p)
	}
	var accepted struct{ Appointment appointmentJSON }
	if code, _ := s.rest("POST", "/v1/appointments/"+b.Appointment.ID+":accept", doctor, map[string]string{}, &accepted); code != http.StatusOK ||
		accepted.Appointment.State != "APPOINTMENT_STATE_CONFIRMED" {
		t.Fatalf("accept: %d %+v", code, accepted)
	}
	if a := s.appointment(maria, b.Appointment.ID); a.State != "APPOINTMENT_STATE_CONFIRMED" || a.JoinPath == "" {
		t.Fatalf("patient sees %+v", a)
	}
	var mine struct{ Appointments []appointmentJSON }
	s.rest("GET", "/v1/appointments?states=APPOINTMENT_STATE_CONFIRMED", doctor, nil, &mine)
	if len(mine.Appointments) != 1 || mine.Appointments[0].ID != b.Appointment.ID {
		t.Fatalf("doctor's confirmed list: %+v", mine)
	}
	// Another patient cannot see it.
	if code, _ := s.rest("GET", "/v1/appointments/"+b.Appointment.ID, joao, nil, nil); code != http.StatusNotFound {
		t.Fatalf("stranger reads the appointment: HTTP %d", code)
	}

	// Refusal: paid, refused by the doctor → refunded in full, slot bookable again.
	_, r, _ := s.book(maria, slots.Slots[2].ID, "maria-refused")
	s.pay(maria, r.Appointment.ID, true)
	s.waitState(maria, r.Appointment.ID, "APPOINTMENT_STATE_AWAITING_DOCTOR")
	var refusedResp struct{ Appointment appointmentJSON }
	if code, _ := s.rest("POST", "/v1/appointments/"+r.Appointment.ID+":refuse", doctor, map[string]string{"reason": "congresso médico nesta data"}, &refusedResp); code != http.StatusOK ||
		refusedResp.Appointment.State != "APPOINTMENT_STATE_REFUSED" || refusedResp.Appointment.RefundCents != "25000" {
		t.Fatalf("refuse: %d %+v", code, refusedResp)
	}
	s.eventually("full refund", 30*time.Second, func() bool {
		p := s.payment(maria, r.Appointment.ID)
		return p.Status == "PAYMENT_STATUS_REFUNDED" && p.RefundedCents == "25000"
	})
	if code, _, _ := s.book(joao, slots.Slots[2].ID, "joao-after-refusal"); code != http.StatusOK {
		t.Fatalf("the refused slot is not bookable again: %d", code)
	}

	// Cancellation by the patient after confirmation: refunded by the policy (all of it
	// 24 h or more before the start, half after).
	c := slots.Slots[4]
	_, cb, _ := s.book(maria, c.ID, "maria-cancelled")
	s.pay(maria, cb.Appointment.ID, true)
	s.waitState(maria, cb.Appointment.ID, "APPOINTMENT_STATE_AWAITING_DOCTOR")
	s.rest("POST", "/v1/appointments/"+cb.Appointment.ID+":accept", doctor, map[string]string{}, nil)
	want := int64(25000)
	if time.Until(c.StartTime) < 24*time.Hour {
		want = 12500
	}
	var cancelled struct{ Appointment appointmentJSON }
	if code, _ := s.rest("POST", "/v1/appointments/"+cb.Appointment.ID+":cancel", maria, map[string]string{"justification": "viagem de trabalho inesperada"}, &cancelled); code != http.StatusOK ||
		cancelled.Appointment.State != "APPOINTMENT_STATE_CANCELLED" || cancelled.Appointment.RefundCents != strconv.FormatInt(want, 10) {
		t.Fatalf("cancel: %d %+v (want refund %d)", code, cancelled, want)
	}
	s.eventually("policy refund", 30*time.Second, func() bool {
		return s.payment(maria, cb.Appointment.ID).RefundedCents == strconv.FormatInt(want, 10)
	})

	// An unpaid charge that fails (rejected here; an expiry takes the same path) expires
	// the booking and frees the slot.
	_, x, _ := s.book(maria, slots.Slots[6].ID, "maria-unpaid")
	s.pay(maria, x.Appointment.ID, false)
	expired := s.waitState(maria, x.Appointment.ID, "APPOINTMENT_STATE_EXPIRED")
	if code, _, _ := s.book(joao, slots.Slots[6].ID, "joao-after-expiry"); code != http.StatusOK {
		t.Fatalf("the expired slot is not bookable again: %d", code)
	}
	kinds := ""
	for _, h := range expired.History {
		kinds += fmt.Sprintf("%s/%s ", h.Kind, h.ActorRole)
	}
	if kinds != "booked/patient expired/system " {
		t.Errorf("history of the expired booking: %s", kinds)
	}

	// João now holds two unpaid bookings (slots 2 and 6): a third waits until he pays or
	// cancels one.
	if code, _, e := s.book(joao, slots.Slots[8].ID, "joao-third-hold"); code != http.StatusBadRequest ||
		reason(e) != scheduling.ReasonTooManyPendingBookings.Name() {
		t.Fatalf("third unpaid booking: %d %+v", code, e)
	}

	// The ops /metrics: João's two unpaid bookings and the one confirmed appointment are
	// live; seven bookings answered (a retry too), two refused (slot taken, third hold).
	s.appointmentGauges(2, 0, 1)
	s.journeyMetrics(poolSize, 7, 2)
}

// TestMultiProcess_SagaFinishesAfterCrashes kills services with SIGKILL in the middle of
// the saga: the payment arrives while payments is dead, and the refund of a refusal is
// pending while payments and scheduling are both dead. Started again, they finish every
// step, once.
func TestMultiProcess_SagaFinishesAfterCrashes(t *testing.T) {
	fast := []string{
		"-payments.reconcile-every=2s", "-payments.recheck-after=2s",
		"-payments.jobs-max-backoff=2s", "-scheduling.jobs-max-backoff=2s",
		"-payments.jobs-timeout=5s", "-payments.jobs-rescue-after=10s",
		"-scheduling.jobs-timeout=5s", "-scheduling.jobs-rescue-after=10s",
		"-pix.access-token=" + sandboxToken,
	}
	s := startStack(t, fast...)
	doctorID, doctor := s.openDoctor("Dra. Ana Souza", "334455", "ana.crash@clinica.com.br", 30000, 0, 0)
	from := time.Now().Add(2 * time.Hour)
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(24*time.Hour)), "", nil, &slots)
	maria := s.loginPatient("maria.crash@example.com", "529982247")

	code, b, _ := s.book(maria, slots.Slots[0].ID, "maria-crash-1")
	if code != http.StatusOK || b.Payment == nil {
		t.Fatalf("book: %d %+v", code, b)
	}
	p := s.waitQR(maria, b.Appointment.ID)

	// The payment arrives while payments is dead: the webhook gets 503 (the sandbox
	// retries), and reconciliation re-reads the charge once payments is back.
	s.crash("payments")
	req, _ := http.NewRequest("POST", s.sandbox+"/sandbox/payments/"+p.ProviderPaymentID+"/approve", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	time.Sleep(time.Second)
	if a := s.appointment(maria, b.Appointment.ID); a.State != "APPOINTMENT_STATE_PENDING_PAYMENT" {
		t.Fatalf("state with payments dead: %s", a.State)
	}
	s.restart("payments")
	s.waitState(maria, b.Appointment.ID, "APPOINTMENT_STATE_AWAITING_DOCTOR")

	// The doctor refuses while payments is dead: REFUSED commits with its refund job,
	// which fails and waits. Then scheduling dies too, with the job pending.
	s.crash("payments")
	var refused struct{ Appointment appointmentJSON }
	if code, _ := s.rest("POST", "/v1/appointments/"+b.Appointment.ID+":refuse", doctor, map[string]string{"reason": "plantão de emergência"}, &refused); code != http.StatusOK ||
		refused.Appointment.State != "APPOINTMENT_STATE_REFUSED" {
		t.Fatalf("refuse: %d %+v", code, refused)
	}
	time.Sleep(1500 * time.Millisecond) // the refund job tries and fails at least once
	s.crash("scheduling")
	s.restart("payments")
	s.restart("scheduling")
	s.eventually("refund after both restarts", 60*time.Second, func() bool {
		p = s.payment(maria, b.Appointment.ID)
		return p.Status == "PAYMENT_STATUS_REFUNDED"
	})
	if p.RefundedCents != "30000" {
		t.Fatalf("refunded %s, want 30000 once", p.RefundedCents)
	}
	var full struct {
		Payment struct {
			Refunds []struct {
				AmountCents string `json:"amountCents"`
				Status      string `json:"status"`
			} `json:"refunds"`
		} `json:"payment"`
	}
	s.rest("GET", "/v1/appointments/"+b.Appointment.ID+"/payment", maria, nil, &full)
	if len(full.Payment.Refunds) != 1 || full.Payment.Refunds[0].Status != "REFUND_STATUS_COMPLETED" {
		t.Fatalf("refunds: %+v, want exactly one, completed", full.Payment.Refunds)
	}
	// The provider holds one refund of the whole amount.
	req, _ = http.NewRequest("GET", s.sandbox+"/v1/payments/"+p.ProviderPaymentID, nil)
	req.Header.Set("Authorization", "Bearer "+sandboxToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var charge struct {
		Status   string  `json:"status"`
		Refunded float64 `json:"transaction_amount_refunded"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&charge); err != nil {
		t.Fatal(err)
	}
	if charge.Status != "refunded" || charge.Refunded != 300 {
		t.Fatalf("the sandbox's charge: %+v, want refunded R$ 300,00 once", charge)
	}
}

// sandboxToken is the Mercado Pago access token the crash test gives the sandbox (and
// the driver), so it can read the sandbox's own view of a charge.
const sandboxToken = "TEST-e2e-0123456789abcdef"
