package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"healthcore/gateway"
	"healthcore/internal/catalog"
	"healthcore/platform/mtls"
	"healthcore/services/identity"
)

// The clinic's whole setup over REST — the operator creates the clinic and invites the
// doctor, the doctor accepts and delegates, the operator creates the clinic's OAuth
// client — then examples/partner, built and run as a clinic would, obtains a token at
// the gateway's /oauth/token and, through the partner edge (its own process, TLS with a
// certificate of the stack's CA), registers its event endpoint, opens a week of the
// doctor's availability and prints the doctor's agenda and appointments. A patient then
// books and pays: the clinics service POSTs the BOOKED and PAID events to the example,
// which verifies their signatures and prints them in sequence order; a forged event is
// refused. The edge's call log holds the example's calls.
func TestMultiProcess_PartnerExampleThroughTheEdgeListsTheWeekAndReceivesSignedEvents(t *testing.T) {
	s := startStack(t, "-clinics.events-allow-loopback")
	edge := s.partnerEdge()
	doctorID, doctor := s.openDoctor("Dra. Ana Souza", "556677", "ana.partner@clinica.com.br", 25000, 0, 10)
	from := time.Now().Add(2 * time.Hour)
	first := s.bookPaid(doctorID, from, from.Add(48*time.Hour), "maria.partner@example.com", "390533447")

	// The operator registers the clinic and invites the doctor.
	admin := s.operator()
	var clinic struct {
		Clinic struct {
			ClinicID string `json:"clinicId"`
			Cnpj     string `json:"cnpj"`
		} `json:"clinic"`
	}
	if code, _ := s.rest("POST", "/v1/admin/clinics", admin, map[string]string{
		"cnpj": "11.222.333/0001-81", "name": "Clínica Sol", "email": "contato@sol.com.br", "phone": "+551133334444",
	}, &clinic); code != http.StatusOK || clinic.Clinic.Cnpj != "11222333000181" {
		t.Fatalf("create clinic: %d %+v", code, clinic)
	}
	clinicID := clinic.Clinic.ClinicID
	if code, _ := s.rest("POST", "/v1/admin/clinics/"+clinicID+"/invitations", admin, map[string]string{"doctorId": doctorID}, nil); code != http.StatusOK {
		t.Fatalf("invite: %d", code)
	}
	// The doctor sees the invitation, accepts it and delegates answering.
	var mine struct {
		Affiliations []struct {
			ClinicID         string `json:"clinicId"`
			State            string `json:"state"`
			AnswersDelegated bool   `json:"answersDelegated"`
		} `json:"affiliations"`
	}
	if code, _ := s.rest("GET", "/v1/doctors/me/affiliations", doctor, nil, &mine); code != http.StatusOK ||
		len(mine.Affiliations) != 1 || mine.Affiliations[0].State != "AFFILIATION_STATE_INVITED" {
		t.Fatalf("the doctor's invitations: %d %+v", code, mine)
	}
	if code, _ := s.rest("POST", "/v1/doctors/me/affiliations/"+clinicID+":accept", doctor, map[string]any{}, nil); code != http.StatusOK {
		t.Fatalf("accept: %d", code)
	}
	var delegated struct {
		Affiliation struct {
			State            string `json:"state"`
			AnswersDelegated bool   `json:"answersDelegated"`
		} `json:"affiliation"`
	}
	if code, _ := s.rest("PUT", "/v1/doctors/me/affiliations/"+clinicID+"/delegation", doctor, map[string]bool{"answersDelegated": true}, &delegated); code != http.StatusOK ||
		delegated.Affiliation.State != "AFFILIATION_STATE_ACTIVE" || !delegated.Affiliation.AnswersDelegated {
		t.Fatalf("delegate: %d %+v", code, delegated)
	}

	// The operator creates the clinic's client; an unknown clinic is refused.
	var refused errorJSON
	if code, _ := s.rest("POST", "/v1/admin/partner-clients", admin, map[string]any{
		"clinicId": "6f1c2a43-0d55-4b8e-9a57-3f0b6c1f2d10", "name": "Fantasma", "scopes": []string{"agenda.read"},
	}, &refused); code != http.StatusNotFound || reason(refused) != identity.ReasonClinicNotFound.Name() {
		t.Errorf("a client for an unknown clinic: %d %+v", code, refused)
	}
	var created struct {
		Client struct {
			ClientID string `json:"clientId"`
		} `json:"client"`
		ClientSecret string `json:"clientSecret"`
	}
	if code, _ := s.rest("POST", "/v1/admin/partner-clients", admin, map[string]any{
		"clinicId": clinicID, "name": "Clínica Sol — agenda", "scopes": []string{"agenda.read", "agenda.write", "appointments.read", "events.manage"},
	}, &created); code != http.StatusOK || created.ClientSecret == "" {
		t.Fatalf("create client: %d", code)
	}

	// The client's real token is for the partner edge only: the REST edge refuses it, so
	// no partner call skips the edge's limits and call log.
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"agenda.read"}}
	req, err := http.NewRequest(http.MethodPost, s.gateway+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(created.Client.ClientID), url.QueryEscape(created.ClientSecret))
	var issued struct {
		AccessToken string `json:"access_token"`
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&issued)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || issued.AccessToken == "" {
		t.Fatalf("/oauth/token: HTTP %d, %v", resp.StatusCode, err)
	}
	var refusedREST errorJSON
	if code, _ := s.rest("GET", "/v1/doctors/"+doctorID+"/slots", issued.AccessToken, nil, &refusedREST); code != http.StatusForbidden ||
		reason(refusedREST) != gateway.ReasonPartnerEdgeOnly.Name() {
		t.Errorf("a partner token on the REST edge: HTTP %d %v, want 403 PARTNER_EDGE_ONLY", code, refusedREST)
	}

	// The example, as a clinic runs it, waiting for events once it printed the week.
	bin := filepath.Join(t.TempDir(), "partner")
	if out, err := exec.Command("go", "build", "-o", bin, "healthcore/examples/partner").CombinedOutput(); err != nil {
		t.Fatalf("build examples/partner: %v\n%s", err, out)
	}
	hooks, err := catalog.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	hooksURL := "http://" + hooks + "/healthcore/events"
	ex := startExample(t, bin, "HEALTHCORE_CLIENT_SECRET="+created.ClientSecret, "-edge", edge, "-token-url", s.gateway+"/oauth/token",
		"-client-id", created.Client.ClientID, "-doctor-id", doctorID, "-ca-file", mtls.DevFiles(s.certs, "").CA,
		"-open", "09:00-17:00", "-from", time.Now().UTC().Format(time.DateOnly),
		"-events-listen", hooks, "-events-url", hooksURL, "-events-for", "3m")
	out := ex.await(t, regexp.MustCompile(`(?m)^events: waiting`), 2*time.Minute)
	endpoint := regexp.MustCompile(`(?m)^events: endpoint ([0-9a-f-]{36}) at ` + regexp.QuoteMeta(hooksURL) + ` created, signing secret \(shown once\) (whsec_\S+)$`).FindStringSubmatch(out)
	if endpoint == nil {
		t.Fatalf("the example registered no event endpoint:\n%s", out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^token: scope "agenda.read agenda.write appointments.read events.manage", valid [0-9]+m0s$`),
		regexp.MustCompile(`(?m)^availability ` + doctorID + `: Monday-Friday 09:00-17:00 \(America/Sao_Paulo\): [0-9]+ slots created, [1-9][0-9]* removed, [01] conflicts$`),
		regexp.MustCompile(`(?m)^agenda ` + doctorID + ` \S+ \(America/Sao_Paulo\): [1-9][0-9]* slots, [0-9]+ open, 0 blocked, 1 booked$`),
		regexp.MustCompile(`(?m)^appointment ` + first + ` \S+ AWAITING_DOCTOR patient Maria answer by \S+$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("the example's output lacks %s", want)
		}
	}

	// Its receiver refuses what Healthcore did not sign: no signature, another secret,
	// the right secret over another body.
	forged := `{"eventId": "5b1f4b3e-8f7a-4d52-9c1e-0d6f3a2b1c9e", "type": "EVENT_TYPE_APPOINTMENT_CANCELLED", "sequence": 3,` +
		` "appointmentId": "` + first + `", "doctorId": "` + doctorID + `", "state": "APPOINTMENT_STATE_CANCELLED"}`
	for what, sig := range map[string]string{
		"unsigned":           "",
		"another secret":     eventSignature("whsec_not-the-clinics", time.Now(), forged),
		"another body":       eventSignature(endpoint[2], time.Now(), `{"eventId": "5b1f4b3e-8f7a-4d52-9c1e-0d6f3a2b1c9e"}`),
		"signed an hour ago": eventSignature(endpoint[2], time.Now().Add(-time.Hour), forged),
	} {
		req, _ := http.NewRequest("POST", hooksURL, strings.NewReader(forged))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Healthcore-Event-Id", "5b1f4b3e-8f7a-4d52-9c1e-0d6f3a2b1c9e")
		if sig != "" {
			req.Header.Set("Healthcore-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a forged event (%s): HTTP %d, want 401", what, resp.StatusCode)
		}
	}

	// A patient books one of the slots the clinic opened, and pays.
	second := s.bookPaid(doctorID, from, from.Add(7*24*time.Hour), "joana.partner@example.com", "529982247")
	booked := "event APPOINTMENT_BOOKED appointment " + second + " sequence 1 state PENDING_PAYMENT"
	paid := "event APPOINTMENT_PAID appointment " + second + " sequence 2 state AWAITING_DOCTOR"
	out = ex.await(t, regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(paid)+`$`), 2*time.Minute)
	lines := strings.Split(out, "\n")
	if i, j := slices.Index(lines, booked), slices.Index(lines, paid); i < 0 || j < i {
		t.Errorf("the events of %s, want %q then %q:\n%s", second, booked, paid, out)
	}
	if n := strings.Count(out, "appointment "+second+" sequence "); n != 2 {
		t.Errorf("%d events of %s printed, want the booking's and the payment's, once each:\n%s", n, second, out)
	}
	if err := ex.stop(); err != nil {
		t.Errorf("examples/partner after Ctrl-C: %v\n%s", err, ex.output())
	}
	t.Logf("examples/partner:\n%s", ex.output())
	if out := ex.output(); strings.Contains(out, "Silva") || strings.Contains(out, "390533447") || strings.Contains(out, "CANCELLED") {
		t.Errorf("the example printed more of the patient than the first name, or a forged event:\n%s", out)
	}

	// The edge logged every call of the example's client, each with the scope that
	// admitted it.
	db := openPool(t, s.dbURL)
	want := []string{
		"/healthcore.clinics.v1.ClinicsService/CreateEventEndpoint events.manage ok",
		"/healthcore.clinics.v1.ClinicsService/ListEventEndpoints events.manage ok",
		"/healthcore.scheduling.v1.SchedulingService/GetDoctorAgenda agenda.read ok",
		"/healthcore.scheduling.v1.SchedulingService/ListDoctorAppointments appointments.read ok",
		"/healthcore.scheduling.v1.SchedulingService/SetDoctorAvailability agenda.write ok",
	}
	var logged []string
	waitFor(t, "the example's calls in the edge's call log", 30*time.Second, nil, func() bool {
		rows, err := db.Query(context.Background(), `SELECT DISTINCT method || ' ' || scope || ' ' || code FROM partneredge.call_log
			WHERE client_id = $1 AND clinic_id = $2 ORDER BY 1`, created.Client.ClientID, clinicID)
		if err != nil {
			t.Fatal(err)
		}
		logged = logged[:0]
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			logged = append(logged, l)
		}
		rows.Close()
		return slices.Equal(logged, want)
	})

	// The doctor's own availability is what the clinic opened.
	var avail struct {
		Availability struct {
			Weekly []struct {
				Weekday   string `json:"weekday"`
				StartTime string `json:"startTime"`
				EndTime   string `json:"endTime"`
			} `json:"weekly"`
		} `json:"availability"`
	}
	if code, _ := s.rest("GET", "/v1/doctors/me/availability", doctor, nil, &avail); code != http.StatusOK ||
		len(avail.Availability.Weekly) != 5 || avail.Availability.Weekly[0].StartTime != "09:00" || avail.Availability.Weekly[4].EndTime != "17:00" {
		t.Errorf("the doctor's availability after the clinic opened the week: %d %+v", code, avail)
	}
}

// bookPaid has a new patient (email, CPF from nine) book the doctor's first free slot
// in [from, to) and pay it in the PIX sandbox, and returns the appointment's id once it
// awaits the doctor.
func (s *stack) bookPaid(doctorID string, from, to time.Time, email, nine string) string {
	s.t.Helper()
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, to), "", nil, &slots)
	if len(slots.Slots) == 0 {
		s.t.Fatalf("no free slot of %s to book from %s to %s", doctorID, from, to)
	}
	patient := s.loginPatient(email, nine)
	code, b, _ := s.book(patient, slots.Slots[0].ID, "partner-booking-"+nine)
	if code != http.StatusOK {
		s.t.Fatalf("book %s: %d", slots.Slots[0].ID, code)
	}
	s.pay(patient, b.Appointment.ID, true)
	s.waitState(patient, b.Appointment.ID, "APPOINTMENT_STATE_AWAITING_DOCTOR")
	return b.Appointment.ID
}

// eventSignature is a Healthcore-Signature header over body, signed at t with secret.
func eventSignature(secret string, t time.Time, body string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + body))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// example is examples/partner running, its output read as it comes.
type example struct {
	cmd  *exec.Cmd
	done chan error

	mu  sync.Mutex
	out bytes.Buffer
}

// startExample runs bin with args and the variable env; the test's end kills it if it
// still runs.
func startExample(t *testing.T, bin, env string, args ...string) *example {
	t.Helper()
	e := &example{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	e.cmd.Env = append(os.Environ(), env)
	stdout, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	e.cmd.Stderr = &lockedBuffer{e: e}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(&lockedBuffer{e: e}, sc.Text())
		}
		e.done <- e.cmd.Wait()
	}()
	t.Cleanup(func() { _ = e.cmd.Process.Kill() })
	return e
}

// await waits until the output matches re, and returns it; it fails the test if the
// example exits first or limit passes.
func (e *example) await(t *testing.T, re *regexp.Regexp, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		out := e.output()
		if re.MatchString(out) {
			return out
		}
		select {
		case err := <-e.done:
			e.done <- err
			t.Fatalf("examples/partner exited (%v) before printing %s:\n%s", err, re, e.output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("examples/partner did not print %s within %s:\n%s", re, limit, out)
		}
	}
}

// stop sends the example Ctrl-C's signal and returns how it exited.
func (e *example) stop() error {
	_ = e.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-e.done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("still running 30s after SIGINT")
	}
}

func (e *example) output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.out.String()
}

// lockedBuffer appends to the example's output under its lock.
type lockedBuffer struct{ e *example }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.e.mu.Lock()
	defer b.e.mu.Unlock()
	return b.e.out.Write(p)
}
