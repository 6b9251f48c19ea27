package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"healthcore/platform/mtls"
	"healthcore/services/identity"
)

// The clinic's whole setup over REST — the operator creates the clinic and invites the
// doctor, the doctor accepts and delegates, the operator creates the clinic's OAuth
// client — then examples/partner, built and run as a clinic would, obtains a token at
// the gateway's /oauth/token, opens a week of the doctor's availability and prints the
// doctor's agenda and appointments, read from the scheduling service's own gRPC port.
func TestMultiProcess_PartnerExampleOpensAWeekAndListsTheDoctorsAppointments(t *testing.T) {
	s := startStack(t)
	doctorID, doctor := s.openDoctor("Dra. Ana Souza", "556677", "ana.partner@clinica.com.br", 25000, 0, 10)
	from := time.Now().Add(2 * time.Hour)
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(48*time.Hour)), "", nil, &slots)
	if len(slots.Slots) == 0 {
		t.Fatal("no free slot to book")
	}
	maria := s.loginPatient("maria.partner@example.com", "390533447")
	code, b, _ := s.book(maria, slots.Slots[0].ID, "maria-partner-booking")
	if code != http.StatusOK {
		t.Fatalf("book: %d", code)
	}
	s.pay(maria, b.Appointment.ID, true)
	s.waitState(maria, b.Appointment.ID, "APPOINTMENT_STATE_AWAITING_DOCTOR")

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
		"clinicId": clinicID, "name": "Clínica Sol — agenda", "scopes": []string{"agenda.read", "agenda.write", "appointments.read"},
	}, &created); code != http.StatusOK || created.ClientSecret == "" {
		t.Fatalf("create client: %d", code)
	}

	// The example, as a clinic runs it.
	bin := filepath.Join(t.TempDir(), "partner")
	if out, err := exec.Command("go", "build", "-o", bin, "healthcore/examples/partner").CombinedOutput(); err != nil {
		t.Fatalf("build examples/partner: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-edge", "https://"+s.addr["scheduling"], "-token-url", s.gateway+"/oauth/token",
		"-client-id", created.Client.ClientID, "-doctor-id", doctorID, "-ca-file", mtls.DevFiles(s.certs, "").CA,
		"-open", "09:00-17:00", "-from", time.Now().UTC().Format(time.DateOnly))
	cmd.Env = append(os.Environ(), "HEALTHCORE_CLIENT_SECRET="+created.ClientSecret)
	raw, err := cmd.CombinedOutput()
	out := string(raw)
	t.Logf("examples/partner:\n%s", out)
	if err != nil {
		t.Fatalf("examples/partner: %v", err)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^token: scope "agenda.read agenda.write appointments.read", valid [0-9]+m0s$`),
		regexp.MustCompile(`(?m)^availability ` + doctorID + `: Monday-Friday 09:00-17:00 \(America/Sao_Paulo\): [0-9]+ slots created, [1-9][0-9]* removed, [01] conflicts$`),
		regexp.MustCompile(`(?m)^agenda ` + doctorID + ` \S+ \(America/Sao_Paulo\): [1-9][0-9]* slots, [0-9]+ open, 0 blocked, 1 booked$`),
		regexp.MustCompile(`(?m)^appointment ` + b.Appointment.ID + ` \S+ AWAITING_DOCTOR patient Maria answer by \S+$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("the example's output lacks %s", want)
		}
	}
	if strings.Contains(out, "Silva") || strings.Contains(out, "390533447") {
		t.Errorf("the example printed more of the patient than the first name:\n%s", out)
	}
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
