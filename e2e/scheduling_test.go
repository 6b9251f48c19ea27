package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"healthcore/platform/authn"
	"healthcore/services/scheduling"
)

// slotJSON and availabilityJSON mirror the scheduling REST answers a frontend reads.
type slotJSON struct {
	ID          string    `json:"id"`
	DoctorID    string    `json:"doctorId"`
	StartTime   time.Time `json:"startTime"`
	EndTime     time.Time `json:"endTime"`
	Status      string    `json:"status"`
	Appointment *struct {
		ID string `json:"id"`
	} `json:"appointment"`
}

type slotsJSON struct {
	Slots []slotJSON `json:"slots"`
	Price struct {
		AmountCents string `json:"amountCents"` // int64 travels as a JSON string
		Currency    string `json:"currency"`
	} `json:"price"`
	TimeZone string `json:"timeZone"`
}

// nextMonday returns the start of the first Monday after today in loc.
func nextMonday(loc *time.Location) time.Time {
	now := time.Now().In(loc)
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func rangeQuery(from, to time.Time) string {
	return "?" + url.Values{"startTime": {from.UTC().Format(time.RFC3339)}, "endTime": {to.UTC().Format(time.RFC3339)}}.Encode()
}

func TestMultiProcess_DoctorPublishesAnAgendaPatientsSeeOverREST(t *testing.T) {
	s := startStack(t)

	// A doctor registers, an operator verifies the CRM, and the doctor logs in with CRM +
	// UF and a second factor.
	doctorID, doctor := s.loginDoctor("Dra. Ana Souza", "123456", "ana@clinica.com.br")

	// Availability needs the directory profile's time zone.
	monday := map[string]any{"weekly": []map[string]string{{"weekday": "WEEKDAY_MONDAY", "startTime": "09:00", "endTime": "12:00"}}, "gapMinutes": 10}
	var e errorJSON
	code, _ := s.rest("PUT", "/v1/doctors/me/availability", doctor, monday, &e)
	if code != http.StatusBadRequest || reason(e) != scheduling.ReasonProfileRequired.Name() {
		t.Errorf("availability before a profile: %d %+v", code, e)
	}

	code, _ = s.rest("PUT", "/v1/doctors/me/profile", doctor, map[string]any{
		"displayName": "Dra. Ana Souza", "priceCents": 27500, "timeZone": "America/Sao_Paulo",
		"specialties": []map[string]string{{"code": "cardiologia"}},
		"location": map[string]any{"address": "Av. Paulista, 1000", "city": "São Paulo", "uf": "SP",
			"point": map[string]float64{"latitude": -23.5505, "longitude": -46.6333}},
	}, nil)
	if code != http.StatusOK {
		t.Fatalf("profile: %d", code)
	}

	var set struct {
		TimeZone     string `json:"timeZone"`
		SlotsCreated int    `json:"slotsCreated"`
	}
	code, _ = s.rest("PUT", "/v1/doctors/me/availability", doctor, monday, &set)
	// Eight weeks ahead hold eight Mondays (today's, when it is one, may have begun).
	if code != http.StatusOK || set.TimeZone != "America/Sao_Paulo" || set.SlotsCreated < 21 || set.SlotsCreated > 24 {
		t.Fatalf("set availability: %d %+v", code, set)
	}

	// The listing follows the operator's verdict by a job: the doctor is public once the
	// directory has heard it.
	s.eventually("the doctor to be listed", 30*time.Second, func() bool {
		code, _ := s.rest("GET", "/v1/doctors/"+doctorID, "", nil, nil)
		return code == http.StatusOK
	})

	// Anyone sees next Monday's free slots with the profile's price and time zone.
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	day := nextMonday(sp)
	var slots slotsJSON
	code, _ = s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(day, day.AddDate(0, 0, 1)), "", nil, &slots)
	if code != http.StatusOK || len(slots.Slots) != 3 {
		t.Fatalf("slots: %d %+v", code, slots)
	}
	for i, sl := range slots.Slots {
		wantStart := day.Add(time.Duration(9+i) * time.Hour) // 09:00, 10:00, 11:00 local
		if !sl.StartTime.Equal(wantStart) || sl.EndTime.Sub(sl.StartTime) != 50*time.Minute ||
			sl.Status != "SLOT_STATUS_OPEN" || sl.DoctorID != doctorID || sl.ID == "" {
			t.Errorf("slot %d: %+v, want %s", i, sl, wantStart)
		}
	}
	if slots.Price.AmountCents != "27500" || slots.Price.Currency != "BRL" || slots.TimeZone != "America/Sao_Paulo" {
		t.Errorf("price %+v, time zone %q", slots.Price, slots.TimeZone)
	}

	// The doctor's agenda holds the same slots; it needs the doctor's token.
	var agenda slotsJSON
	code, _ = s.rest("GET", "/v1/doctors/me/agenda"+rangeQuery(day, day.AddDate(0, 0, 1)), doctor, nil, &agenda)
	if code != http.StatusOK || len(agenda.Slots) != 3 || agenda.Slots[0].ID != slots.Slots[0].ID || agenda.TimeZone != "America/Sao_Paulo" {
		t.Errorf("agenda: %d %+v", code, agenda)
	}
	code, _ = s.rest("GET", "/v1/doctors/me/agenda"+rangeQuery(day, day.AddDate(0, 0, 1)), "", nil, &e)
	if code != http.StatusUnauthorized || reason(e) != authn.ReasonTokenMissing.Name() {
		t.Errorf("anonymous agenda: %d %+v", code, e)
	}

	// Blocking a slot takes it out of the public listing.
	code, _ = s.rest("POST", "/v1/doctors/me/slots/"+slots.Slots[0].ID+":block", doctor, map[string]any{}, nil)
	if code != http.StatusOK {
		t.Errorf("block: %d", code)
	}
	code, _ = s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(day, day.AddDate(0, 0, 1)), "", nil, &slots)
	if code != http.StatusOK || len(slots.Slots) != 2 {
		t.Errorf("slots after blocking one: %d %+v", code, slots)
	}

	// Bad input comes back as 400 with the reason and the fields.
	code, _ = s.rest("PUT", "/v1/doctors/me/availability", doctor, map[string]any{"weekly": []map[string]string{
		{"weekday": "WEEKDAY_MONDAY", "startTime": "09:00", "endTime": "12:00"},
		{"weekday": "WEEKDAY_MONDAY", "startTime": "11:00", "endTime": "13:00"},
	}}, &e)
	if v := violations(e); code != http.StatusBadRequest || reason(e) != scheduling.ReasonAvailabilityInvalid.Name() || len(v) != 1 || v[0] != "availability.weekly[1]" {
		t.Errorf("overlapping windows: %d %+v", code, e)
	}
	code, _ = s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(day, day.AddDate(0, 0, 32)), "", nil, &e)
	if v := violations(e); code != http.StatusBadRequest || reason(e) != scheduling.ReasonRangeTooLong.Name() || len(v) != 1 || v[0] != "end_time" {
		t.Errorf("range too long: %d %+v", code, e)
	}

	// A patient may not set availability.
	s.rest("POST", "/v1/accounts/patients", "", map[string]string{
		"name": "Maria da Silva", "email": "maria@example.com", "cpf": "529.982.247-25",
		"password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1985-04-12",
	}, nil)
	var login struct{ Tokens tokenPair }
	code, _ = s.rest("POST", "/v1/auth/login", "", map[string]string{"email": "maria@example.com", "password": "correct horse battery"}, &login)
	if code != http.StatusOK {
		t.Fatalf("patient login: %d", code)
	}
	code, _ = s.rest("PUT", "/v1/doctors/me/availability", login.Tokens.AccessToken, monday, &e)
	if code != http.StatusForbidden || reason(e) != authn.ReasonRoleNotAllowed.Name() {
		t.Errorf("patient setting availability: %d %+v", code, e)
	}
}
