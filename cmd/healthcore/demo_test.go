package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"healthcore/internal/catalog"
	"healthcore/platform/authn"
	"healthcore/platform/pgtest"
	"healthcore/services/identity"
	"healthcore/services/scheduling"
	"healthcore/services/telehealth"
)

// TestDemo_ServeAndGatewayRefuseIt: -demo is dev's alone; serve and gateway have no
// such flag, and refuse to start when its variable is set rather than ignore it.
func TestDemo_ServeAndGatewayRefuseIt(t *testing.T) {
	for args, want := range map[string]string{
		"serve scheduling -demo":                     "flag provided but not defined: -demo",
		"serve scheduling -demo-addr=127.0.0.1:7091": "flag provided but not defined: -demo-addr",
		"gateway -demo":                              "flag provided but not defined: -demo",
	} {
		clearEnv(t, "DATABASE_URL", "HEALTHCORE_DATABASE_URL", "HEALTHCORE_DEMO")
		if err := run(context.Background(), strings.Fields(args)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("run(%q) = %v, want an error containing %q", args, err, want)
		}
	}
	for _, args := range []string{"serve scheduling -trusted-proxies=none", "gateway -trusted-proxies=none"} {
		clearEnv(t, "DATABASE_URL", "HEALTHCORE_DATABASE_URL")
		t.Setenv("HEALTHCORE_DEMO", "true")
		want := "HEALTHCORE_DEMO is set: the demo (short booking windows, the finish control) is `healthcore dev -demo` only"
		if err := run(context.Background(), strings.Fields(args)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("run(%q) with HEALTHCORE_DEMO=true = %v, want an error containing %q", args, err, want)
		}
	}
}

// TestDemo_FlagsStartAtTheDemoWindowsUnlessGiven: -demo's windows apply to what the
// command line leaves alone, and only -demo finishes consultations early; without it,
// dev keeps production's windows.
func TestDemo_FlagsStartAtTheDemoWindowsUnlessGiven(t *testing.T) {
	unsetEnv(t, "HEALTHCORE_SCHEDULING_MIN_LEAD", "HEALTHCORE_SCHEDULING_PAYMENT_WINDOW", "HEALTHCORE_TELEHEALTH_JOIN_EARLY", "HEALTHCORE_DEMO")
	type windows struct {
		minLead, payment, joinEarly time.Duration
		finishEarly                 bool
	}
	parse := func(args ...string) windows {
		t.Helper()
		cfg, _, err := parseDev(args)
		if err != nil {
			t.Fatalf("parseDev(%q): %v", args, err)
		}
		s, th := catalog.ServiceConfig[scheduling.Config](cfg), catalog.ServiceConfig[telehealth.Config](cfg)
		return windows{s.MinLead, s.PaymentWindow, th.JoinEarly, s.FinishEarly}
	}
	if got, want := parse(), (windows{time.Hour, 40 * time.Minute, 10 * time.Minute, false}); got != want {
		t.Errorf("dev: %+v, want production's %+v", got, want)
	}
	if got, want := parse("-demo"), (windows{31 * time.Minute, 31 * time.Minute, time.Hour, true}); got != want {
		t.Errorf("dev -demo: %+v, want %+v", got, want)
	}
	if got, want := parse("-demo", "-scheduling.min-lead=45m"), (windows{45 * time.Minute, 31 * time.Minute, time.Hour, true}); got != want {
		t.Errorf("dev -demo -scheduling.min-lead=45m: %+v, want %+v", got, want)
	}
}

// TestDemo_AnAppointmentGoesFromBookingToReviewInMinutes walks what the README's demo
// walks, on dev -demo: a doctor opens 10-minute slots, a patient books one 31 minutes
// ahead, pays through the sandbox, the doctor accepts, both join the room at once, the
// finish control ends the consultation (COMPLETED) and the patient reviews the doctor.
// Without -demo's early finish the control answers FAILED_PRECONDITION NOT_ENDED.
func TestDemo_AnAppointmentGoesFromBookingToReviewInMinutes(t *testing.T) {
	unsetEnv(t, "HEALTHCORE_DEMO")
	l, err := catalog.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	demoAddrs, err := catalog.FreeAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	demo := "http://" + demoAddrs[0]
	// Service-token keys in a folder, so create-admin can call keys as identity.
	keys := t.TempDir()
	if err := authn.WriteServiceKeys(keys, catalog.Names()); err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t, catalog.Schemas(catalog.Names())...)
	args := append([]string{
		"-demo", "-demo-addr=" + demoAddrs[0], "-service-keys=" + keys,
		"-database-url=" + dbURL, "-data-dir=" + t.TempDir(),
		"-db-max-conns=2", "-log-level=warn", "-gateway.addr=" + l.GatewayAddr, "-ops-addr=" + l.Ops["serve"],
	}, l.Flags...)
	startDev(t, args, l.Gateway)
	api := restClient{t: t, base: l.Gateway}

	const password = "Correct-Horse-Battery-9"
	api.do("POST", "/v1/accounts/doctors", "", map[string]any{"name": "Dra. Ana Souza", "crm": map[string]string{"number": "654321", "uf": "RJ"},
		"email": "ana@clinica.com.br", "password": password}, http.StatusAccepted, nil)
	// An operator verifies the doctor; the doctor's next session says so and enrols TOTP.
	crm := map[string]string{"number": "654321", "uf": "RJ"}
	unverified := api.login(map[string]any{"crm": crm, "password": password})
	api.do("POST", "/v1/me/verification", unverified, map[string]any{"crm": crm, "card": crmCardPNG,
		"specialties": []map[string]string{{"code": "cardiologia", "rqe": "45678"}}}, http.StatusOK, nil)
	t.Setenv("HEALTHCORE_ADMIN_PASSWORD", "Admin-Battery-Staple-77")
	if err := run(context.Background(), append([]string{"create-admin", "-database-url=" + dbURL, "-log-level=warn",
		"-name=Ops", "-email=ops@healthcore.example", "-insecure-transport", "-service-keys=" + keys}, l.Flags...)); err != nil {
		t.Fatal(err)
	}
	admin := api.enrolTOTP(api.login(map[string]any{"email": "ops@healthcore.example", "password": "Admin-Battery-Staple-77"}))
	var pending struct{ Doctors []struct{ DoctorID string } }
	api.do("GET", "/v1/admin/doctors", admin, nil, http.StatusOK, &pending)
	if len(pending.Doctors) != 1 {
		t.Fatalf("pending doctors %+v, want the one registered", pending)
	}
	api.do("POST", "/v1/admin/doctors/"+pending.Doctors[0].DoctorID+":approve", admin, map[string]any{}, http.StatusOK, nil)
	doc := api.enrolTOTP(api.login(map[string]any{"crm": crm, "password": password}))
	api.do("PUT", "/v1/doctors/me/profile", doc, map[string]any{"displayName": "Dra. Ana Souza", "specialties": []map[string]string{{"code": "cardiologia"}},
		"priceCents": 20000, "timeZone": "America/Sao_Paulo",
		"location": map[string]any{"address": "Rua do Catete, 100", "city": "Rio de Janeiro", "uf": "RJ", "point": map[string]float64{"latitude": -22.92, "longitude": -43.18}}}, http.StatusOK, nil)
	var weekly []map[string]string
	for _, d := range []string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"} {
		weekly = append(weekly, map[string]string{"weekday": "WEEKDAY_" + d, "startTime": "00:00", "endTime": "24:00"})
	}
	api.do("PUT", "/v1/doctors/me/availability", doc, map[string]any{"weekly": weekly, "slotMinutes": 10}, http.StatusOK, nil)
	var me struct{ Account struct{ ID string } }
	api.do("GET", "/v1/me", doc, nil, http.StatusOK, &me)

	api.do("POST", "/v1/accounts/patients", "", map[string]any{"name": "Maria da Silva", "email": "maria@example.com", "cpf": "529.982.247-25",
		"password": password, "phone": "+5511987654321", "birthDate": "1985-04-12"}, http.StatusAccepted, nil)
	api.verifyEmail("maria@example.com") // she books: the address is confirmed first
	maria := api.login(map[string]any{"cpf": "52998224725", "password": password})

	now := time.Now().UTC()
	var slots struct{ Slots []struct{ ID string } }
	api.do("GET", fmt.Sprintf("/v1/doctors/%s/slots?startTime=%s&endTime=%s", me.Account.ID,
		now.Add(32*time.Minute).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)), "", nil, http.StatusOK, &slots)
	if len(slots.Slots) == 0 {
		t.Fatal("no slot between 32 minutes and an hour from now")
	}
	var booking struct{ Appointment struct{ ID string } }
	api.do("POST", "/v1/appointments", maria, map[string]any{"slotId": slots.Slots[0].ID, "idempotencyKey": "maria-demo-1", "reason": "palpitações"}, http.StatusOK, &booking)
	id := booking.Appointment.ID
	var pay struct {
		Payment struct{ ProviderPaymentID string }
	}
	// The charge is made by a job after the booking's answer: the long-poll waits for it.
	api.do("GET", "/v1/appointments/"+id+"/payment?wait=30s&knownStatus=PAYMENT_STATUS_CREATING", maria, nil, http.StatusOK, &pay)
	api.do("POST", l.Sandbox+"/sandbox/payments/"+pay.Payment.ProviderPaymentID+"/approve", "", nil, http.StatusOK, nil)
	state := func() (st string, noShow bool) {
		var a struct {
			Appointment struct {
				State  string
				NoShow bool
			}
		}
		api.do("GET", "/v1/appointments/"+id, maria, nil, http.StatusOK, &a)
		return a.Appointment.State, a.Appointment.NoShow
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if st, _ := state(); st == "APPOINTMENT_STATE_AWAITING_DOCTOR" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the paid appointment is %s a minute later, want AWAITING_DOCTOR", st)
		}
	}
	// Before the doctor accepts, the control refuses: there is no consultation to end.
	api.do("POST", demo+"/demo/appointments/"+id+"/finish", "", nil, http.StatusBadRequest, nil)
	api.do("POST", "/v1/appointments/"+id+":accept", doc, map[string]any{}, http.StatusOK, nil)
	api.do("GET", "/v1/appointments/"+id+"/join", maria, nil, http.StatusOK, nil)
	api.do("GET", "/v1/appointments/"+id+"/join", doc, nil, http.StatusOK, nil)
	// A review before the end is refused; then the control ends the consultation.
	api.do("POST", "/v1/appointments/"+id+"/review", maria, map[string]any{"stars": 5, "comment": "Muito atenciosa"}, http.StatusBadRequest, nil)
	var finished struct {
		State  string
		NoShow bool
	}
	api.do("POST", demo+"/demo/appointments/"+id+"/finish", "", nil, http.StatusOK, &finished)
	if finished.State != "APPOINTMENT_STATE_COMPLETED" || finished.NoShow {
		t.Errorf("finish answered %+v, want COMPLETED", finished)
	}
	if st, noShow := state(); st != "APPOINTMENT_STATE_COMPLETED" || noShow {
		t.Errorf("after finish the appointment is %s (no-show %v), want COMPLETED", st, noShow)
	}
	api.do("POST", "/v1/appointments/"+id+"/review", maria, map[string]any{"stars": 5, "comment": "Muito atenciosa"}, http.StatusOK, nil)
	var reviews struct{ Reviews []struct{ Stars int } }
	api.do("GET", "/v1/doctors/"+me.Account.ID+"/reviews", "", nil, http.StatusOK, &reviews)
	if len(reviews.Reviews) != 1 || reviews.Reviews[0].Stars != 5 {
		t.Errorf("the doctor's reviews: %+v, want the one of 5 stars", reviews.Reviews)
	}
	api.do("POST", demo+"/demo/appointments/00000000-0000-4000-8000-000000000000/finish", "", nil, http.StatusNotFound, nil)
}

// unsetEnv unsets the named variables for the test (t.Setenv restores them after).
func unsetEnv(t *testing.T, names ...string) {
	for _, n := range names {
		t.Setenv(n, "")
		os.Unsetenv(n)
	}
}

// restClient calls the REST edge (or, given a full URL, another dev listener).
type restClient struct {
	t    *testing.T
	base string
}

// do sends body as JSON with the bearer token, fails the test unless the answer has
// status want, and decodes it into out when given.
func (c restClient) do(method, path, token string, body any, want int, out any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = c.base + path
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// enrolTOTP enrols and confirms a second factor for the session of access (a doctor
// needs one to accept) and returns the session's new access token.
func (c restClient) enrolTOTP(access string) string {
	c.t.Helper()
	var enrol struct{ Secret string }
	c.do("POST", "/v1/me/mfa/totp:enroll", access, map[string]any{}, http.StatusOK, &enrol)
	code, err := identity.TOTPCode(enrol.Secret, time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	var confirm struct{ Tokens struct{ AccessToken string } }
	c.do("POST", "/v1/me/mfa/totp:confirm", access, map[string]any{"code": code}, http.StatusOK, &confirm)
	return confirm.Tokens.AccessToken
}

// verifyEmail confirms the address as its owner does: the verification link from the
// dev gateway's mail inbox, its token posted to identity.
func (c restClient) verifyEmail(email string) {
	c.t.Helper()
	link := regexp.MustCompile(`/app/verify-email\?token=([A-Za-z0-9_-]+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var inbox []struct{ To, Text string }
		c.do("GET", catalog.DevMailPath+"/messages.json", "", nil, http.StatusOK, &inbox)
		for _, m := range inbox {
			if g := link.FindStringSubmatch(m.Text); m.To == email && g != nil {
				c.do("POST", "/v1/accounts/email:verify", "", map[string]string{"token": g[1]}, http.StatusOK, nil)
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no verification e-mail to %s within 30s", email)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c restClient) login(body map[string]any) string {
	c.t.Helper()
	var out struct{ Tokens struct{ AccessToken string } }
	c.do("POST", "/v1/auth/login", "", body, http.StatusOK, &out)
	return out.Tokens.AccessToken
}

// crmCardPNG is the smallest PNG (base64): a CRM card identity accepts.
const crmCardPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4//8/AAX+Av6nNYGEAAAAAElFTkSuQmCC"
