package e2e

import (
	"encoding/base64"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"healthcore/platform/mtls"
	"healthcore/services/records"
	"healthcore/services/scheduling"
)

// crmCard is what a doctor sends as the photo of the CRM card: identity checks its
// leading bytes (a PNG's).
var crmCard = base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\na photo of the CRM card"))

// operator returns the access token of the stack's operator: an admin made by
// create-admin (which calls keys as identity, by identity's certificate), logged in
// over REST, with a TOTP second factor enrolled and confirmed, as operator RPCs
// require.
func (s *stack) operator() string {
	s.t.Helper()
	if s.admin != "" {
		return s.admin
	}
	args := append([]string{"create-admin", "-database-url=" + s.dbURL, "-log-level=warn", "-name=Operadora", "-email=ops@healthcore.example"}, s.flags...)
	if s.keys != "" { // dev: plain h2c, services prove themselves by their token keys
		args = append(args, "-insecure-transport", "-service-keys="+s.keys)
	} else {
		f := mtls.DevFiles(s.certs, "identity")
		args = append(args, "-tls-cert="+f.Cert, "-tls-key="+f.Key, "-tls-ca="+f.CA)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader("Admin-Battery-Staple-77\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("create-admin: %v\n%s", err, out)
	}
	var login struct{ Tokens tokenPair }
	if code, _ := s.rest("POST", "/v1/auth/login", "", map[string]string{"email": "ops@healthcore.example", "password": "Admin-Battery-Staple-77"}, &login); code != http.StatusOK {
		s.t.Fatalf("operator login: %d", code)
	}
	_, s.admin = s.enrolTOTP(login.Tokens.AccessToken)
	return s.admin
}

// submitEvidence sends the doctor's evidence (CRM number/SP, a cardiology RQE, the card).
func (s *stack) submitEvidence(token, number, uf string) {
	s.t.Helper()
	if code, _ := s.rest("POST", "/v1/me/verification", token, map[string]any{
		"crm": map[string]string{"number": number, "uf": uf}, "card": crmCard,
		"specialties": []map[string]string{{"code": "cardiologia", "rqe": "45678"}},
	}, nil); code != http.StatusOK {
		s.t.Fatalf("evidence of %s: %d", number, code)
	}
}

// decide posts an operator's decision (approve, reject, suspend) on doctor id.
func (s *stack) decide(id, verb, reason string) int {
	s.t.Helper()
	body := map[string]string{}
	if reason != "" {
		body["reason"] = reason
	}
	code, _ := s.rest("POST", "/v1/admin/doctors/"+id+":"+verb, s.operator(), body, nil)
	return code
}

// verifyDoctorIn has the doctor (CRM number/uf) send the evidence and the operator
// approve it over REST, then logs the doctor in again and enrols its second factor
// (mandatory for answering bookings and reading shared records); it returns that
// session's access token, which says verified (tokens carry the status they were
// issued with) and carries otp. The secret is kept in s.totp for a later login with a
// code (the browser tests log the doctor in as a person would).
func (s *stack) verifyDoctorIn(id, number, uf, token string) string {
	s.t.Helper()
	s.approveDoctor(id, number, uf, token)
	secret, upgraded := s.enrolTOTP(s.doctorPasswordLogin(number, uf))
	if s.totp == nil {
		s.totp = map[string]string{}
	}
	s.totp[number+"/"+uf] = secret
	return upgraded
}

// approveDoctor has the doctor send the evidence and the operator approve it.
func (s *stack) approveDoctor(id, number, uf, token string) {
	s.t.Helper()
	s.submitEvidence(token, number, uf)
	if code := s.decide(id, "approve", ""); code != http.StatusOK {
		s.t.Fatalf("approve %s: %d", number, code)
	}
}

// doctorPasswordLogin logs a doctor without a second factor in with the password.
func (s *stack) doctorPasswordLogin(number, uf string) string {
	s.t.Helper()
	var login struct{ Tokens tokenPair }
	s.rest("POST", "/v1/auth/login", "", map[string]any{"crm": map[string]string{"number": number, "uf": uf}, "password": "doctor password 1"}, &login)
	if login.Tokens.AccessToken == "" {
		s.t.Fatalf("password login of doctor %s/%s gave no tokens", number, uf)
	}
	return login.Tokens.AccessToken
}

// listed tells whether the directory finds doctor id by search.
func (s *stack) listed(id string) bool {
	var res struct {
		Results []struct{ Profile profileJSON }
	}
	s.rest("GET", "/v1/doctors?specialty=cardiologia&pageSize=100", "", nil, &res)
	return slices.ContainsFunc(res.Results, func(r struct{ Profile profileJSON }) bool { return r.Profile.DoctorID == id })
}

// TestMultiProcess_DoctorVerifiedByAnOperator: an unverified doctor is absent from
// search and cannot receive a share (DOCTOR_NOT_VERIFIED); an operator (create-admin's
// account, with TOTP) verifies the doctor over REST and both work; suspension unlists
// the doctor, refuses a booking (DOCTOR_NOT_VERIFIED) and refuses and refunds the
// doctor's paid future appointment.
func TestMultiProcess_DoctorVerifiedByAnOperator(t *testing.T) {
	s := startStack(t)
	const number = "445566"
	id, token := s.registerDoctor("Dra. Clara Verificada", number, "SP", "clara@clinica.com.br")
	profile := map[string]any{
		"displayName": "Dra. Clara Verificada", "priceCents": 20000, "timeZone": "America/Sao_Paulo",
		"specialties": []map[string]string{{"code": "cardiologia"}},
		"location": map[string]any{"address": "Av. Paulista, 1000", "city": "São Paulo", "uf": "SP",
			"point": map[string]float64{"latitude": -23.5505, "longitude": -46.6333}},
	}
	if code, _ := s.rest("PUT", "/v1/doctors/me/profile", token, profile, nil); code != http.StatusOK {
		t.Fatalf("draft profile: %d", code)
	}
	patient := s.loginPatient("paciente.verif@example.com", "111444777")

	// Unverified: not in search; a share is refused.
	if s.listed(id) {
		t.Fatal("an unverified doctor is found by search")
	}
	var e errorJSON
	code, _ := s.rest("POST", "/v1/records/shares", patient, map[string]any{
		"doctorId": id, "groupIds": []string{}, "documentIds": []string{"3e0b5f0e-93f4-4a0c-9d7e-8f6d2c1b0a99"},
		"expireTime": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}, &e)
	if code != http.StatusBadRequest || reason(e) != records.ReasonDoctorNotVerified.Name() {
		t.Errorf("share with an unverified doctor: %d %+v", code, e)
	}
	// The operator finds the doctor among the pending.
	var pending struct{ Doctors []struct{ DoctorId string } }
	if code, _ := s.rest("GET", "/v1/admin/doctors", s.operator(), nil, &pending); code != http.StatusOK ||
		!slices.ContainsFunc(pending.Doctors, func(d struct{ DoctorId string }) bool { return d.DoctorId == id }) {
		t.Fatalf("pending doctors: %d %+v", code, pending)
	}

	token = s.verifyDoctorIn(id, number, "SP", token)
	s.eventually("the verified doctor is listed", 30*time.Second, func() bool { return s.listed(id) })
	// The share now passes the doctor's check and stops at the (unknown) document.
	code, _ = s.rest("POST", "/v1/records/shares", patient, map[string]any{
		"doctorId": id, "documentIds": []string{"3e0b5f0e-93f4-4a0c-9d7e-8f6d2c1b0a99"},
		"expireTime": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}, &e)
	if code != http.StatusNotFound || reason(e) != records.ReasonDocumentNotFound.Name() {
		t.Errorf("share with the verified doctor: %d %+v, want the document's NOT_FOUND", code, e)
	}
	var weekly []map[string]string
	for _, d := range []string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"} {
		weekly = append(weekly, map[string]string{"weekday": "WEEKDAY_" + d, "startTime": "00:00", "endTime": "24:00"})
	}
	if code, _ := s.rest("PUT", "/v1/doctors/me/availability", token, map[string]any{"weekly": weekly, "gapMinutes": 10}, nil); code != http.StatusOK {
		t.Fatalf("availability of the verified doctor: %d", code)
	}
	from := time.Now().Add(2 * time.Hour)
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+id+"/slots"+rangeQuery(from, from.Add(72*time.Hour)), "", nil, &slots)
	if len(slots.Slots) < 3 {
		t.Fatalf("only %d slots", len(slots.Slots))
	}
	code, booked, _ := s.book(patient, slots.Slots[0].ID, "verif-paid")
	if code != http.StatusOK {
		t.Fatalf("booking the verified doctor: %d", code)
	}
	s.pay(patient, booked.Appointment.ID, true)
	s.waitState(patient, booked.Appointment.ID, "APPOINTMENT_STATE_AWAITING_DOCTOR")

	// Suspended: unlisted, the paid appointment refused (and refunded), no booking.
	if code := s.decide(id, "suspend", "CRM suspenso pelo conselho regional"); code != http.StatusOK {
		t.Fatalf("suspend: %d", code)
	}
	s.eventually("the suspended doctor is unlisted", 30*time.Second, func() bool { return !s.listed(id) })
	s.waitState(patient, booked.Appointment.ID, "APPOINTMENT_STATE_REFUSED")
	s.eventually("the refund", 30*time.Second, func() bool {
		return s.payment(patient, booked.Appointment.ID).Status == "PAYMENT_STATUS_REFUNDED"
	})
	// Unlisted, the doctor is not bookable; were the directory's verdict late,
	// scheduling's own suspension and identity's answer refuse it as not verified.
	code, _, e = s.book(patient, slots.Slots[2].ID, "verif-after-suspension")
	if code != http.StatusBadRequest || !slices.Contains([]string{scheduling.ReasonDoctorNotVerified.Name(), scheduling.ReasonDoctorNotBookable.Name()}, reason(e)) {
		t.Errorf("booking a suspended doctor: %d %+v", code, e)
	}
}
