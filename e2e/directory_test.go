package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/server"
	"healthcore/services/directory"
)

// profileJSON mirrors the REST JSON of a directory profile.
type profileJSON struct {
	DoctorID    string `json:"doctorId"`
	CrmNumber   string
	CrmUf       string
	DisplayName string
	Specialties []struct{ Code, Name, Rqe string }
	Price       struct {
		AmountCents string // int64 is a JSON string in proto3 JSON
		Currency    string
	}
	ConsultationMinutes int
	Location            struct {
		Address, City, Uf string
		Point             struct{ Latitude, Longitude float64 }
	}
	TimeZone string
	Listed   bool
}

// listDoctor tells the directory, as identity does once an operator verified the
// doctor, that the doctor may be listed: over mTLS with identity's certificate, the
// only caller SetDoctorListing's rule admits. The doctor's token still says what
// identity holds (not verified, until an operator verifies the doctor).
func (s *stack) listDoctor(id string) {
	s.t.Helper()
	hc, url := s.as("identity", "directory")
	dir := directoryv1connect.NewDirectoryServiceClient(hc, url, connect.WithGRPC())
	if _, err := dir.SetDoctorListing(context.Background(), connect.NewRequest(&directoryv1.SetDoctorListingRequest{
		DoctorId: id, Listed: true, ChangeTime: timestamppb.Now(),
	})); err != nil {
		s.t.Fatalf("list doctor %s: %v", id, err)
	}
}

// loginDoctor registers a doctor (CRM number/SP) with identity, has an operator verify
// it and enrols TOTP (doctors must have a second factor to answer bookings and read
// shared records): the token returned says verified and carries otp.
func (s *stack) loginDoctor(name, number, email string) (id, access string) {
	s.t.Helper()
	return s.loginDoctorIn(name, number, "SP", email)
}

// loginDoctorIn is loginDoctor for a CRM of the given UF.
func (s *stack) loginDoctorIn(name, number, uf, email string) (id, access string) {
	s.t.Helper()
	id, token := s.registerDoctor(name, number, uf, email)
	return id, s.verifyDoctorIn(id, number, uf, token)
}

// registerDoctor registers a doctor with identity and logs in with CRM + UF and the
// password: the account is pending verification and has no second factor.
func (s *stack) registerDoctor(name, number, uf, email string) (id, access string) {
	s.t.Helper()
	crm := map[string]string{"number": number, "uf": uf}
	code, _ := s.rest("POST", "/v1/accounts/doctors", "", map[string]any{
		"name": name, "crm": crm, "email": email, "password": "doctor password 1",
	}, nil)
	if code != http.StatusAccepted {
		s.t.Fatalf("register doctor %s: %d", number, code)
	}
	var login struct {
		Tokens  tokenPair
		Account accountJSON
	}
	code, _ = s.rest("POST", "/v1/auth/login", "", map[string]any{"crm": crm, "password": "doctor password 1"}, &login)
	if code != http.StatusOK || login.Tokens.AccessToken == "" || login.Account.Role != "ROLE_DOCTOR" {
		s.t.Fatalf("doctor login %s: %d %+v", number, code, login)
	}
	return login.Account.ID, login.Tokens.AccessToken
}

func TestMultiProcess_DoctorPublishesProfileAndPatientFindsThemOverREST(t *testing.T) {
	s := startStack(t)

	// A doctor signs up with identity, then publishes a profile to the directory, which
	// verifies identity's token itself (JWKS over the network).
	docID, docToken := s.loginDoctor("Dra. Ana Souza", "123456", "ana@clinica.com.br")
	s.listDoctor(docID)
	profile := map[string]any{
		"displayName": "Dra. Ana Souza",
		"specialties": []map[string]string{{"code": "cardiologia", "rqe": "12345"}, {"code": "clinica_medica"}},
		"priceCents":  25000,
		"location": map[string]any{
			"address": "Av. Paulista, 1000", "city": "São Paulo", "uf": "SP",
			"point": map[string]float64{"latitude": -23.5614, "longitude": -46.6559},
		},
		"timeZone": "America/Sao_Paulo",
	}
	var upserted struct {
		Profile profileJSON
		Missing []string
	}
	code, _ := s.rest("PUT", "/v1/doctors/me/profile", docToken, profile, &upserted)
	p := upserted.Profile
	if code != http.StatusOK || p.DoctorID != docID || !p.Listed || len(upserted.Missing) != 0 ||
		p.CrmNumber != "123456" || p.CrmUf != "SP" || p.Price.AmountCents != "25000" || p.Price.Currency != "BRL" ||
		p.ConsultationMinutes != 50 {
		t.Fatalf("PUT profile: %d %+v", code, upserted)
	}
	var mine struct {
		Profile profileJSON
		Missing []string
	}
	if code, _ := s.rest("GET", "/v1/doctors/me/profile", docToken, nil, &mine); code != http.StatusOK || mine.Profile.DoctorID != docID {
		t.Errorf("GET my profile: %d %+v", code, mine)
	}

	// A second cardiologist, in Campinas (about 84 km away), and a third whose profile
	// has no price yet (complete otherwise, right on the patient's point).
	campinasID, campinas := s.loginDoctor("Dr. Bruno Lima", "654321", "bruno@clinica.com.br")
	s.listDoctor(campinasID)
	far := map[string]any{
		"displayName": "Dr. Bruno Lima", "specialties": []map[string]string{{"code": "cardiologia"}}, "priceCents": 20000,
		"location": map[string]any{"address": "Rua Barão de Jaguara, 1000", "city": "Campinas", "uf": "SP",
			"point": map[string]float64{"latitude": -22.9099, "longitude": -47.0626}},
		"timeZone": "America/Sao_Paulo",
	}
	if code, _ := s.rest("PUT", "/v1/doctors/me/profile", campinas, far, nil); code != http.StatusOK {
		t.Fatalf("PUT Campinas profile: %d", code)
	}
	incompleteID, incomplete := s.loginDoctor("Dra. Carla Dias", "111222", "carla@clinica.com.br")
	s.listDoctor(incompleteID)
	var partial struct {
		Profile profileJSON
		Missing []string
	}
	code, _ = s.rest("PUT", "/v1/doctors/me/profile", incomplete, map[string]any{
		"displayName": "Dra. Carla Dias", "specialties": []map[string]string{{"code": "cardiologia"}},
		"location": map[string]any{"address": "Praça da Sé, 1", "city": "São Paulo", "uf": "SP",
			"point": map[string]float64{"latitude": -23.55, "longitude": -46.63}},
		"timeZone": "America/Sao_Paulo",
	}, &partial)
	if code != http.StatusOK || partial.Profile.Listed || !slices.Equal(partial.Missing, []string{"price"}) {
		t.Fatalf("PUT incomplete profile: %d %+v", code, partial)
	}

	// A patient, not logged in, searches cardiologists within 25 km.
	var found struct {
		Results []struct {
			Profile    profileJSON
			DistanceKm float64
		}
		NextPageToken string
	}
	q := url.Values{"specialty": {"cardiologia"}, "point.latitude": {"-23.55"}, "point.longitude": {"-46.63"}, "maxDistanceKm": {"25"}}
	code, _ = s.rest("GET", "/v1/doctors?"+q.Encode(), "", nil, &found)
	if code != http.StatusOK || len(found.Results) != 1 || found.NextPageToken != "" {
		t.Fatalf("search: %d %+v", code, found)
	}
	if r := found.Results[0]; r.Profile.DoctorID != docID || r.DistanceKm != 2.9 || r.Profile.DisplayName != "Dra. Ana Souza" {
		t.Errorf("search result: %+v, want Dra. Ana Souza at 2.9 km", r)
	}
	// Without the radius the Campinas doctor comes second; the incomplete one never.
	q.Del("maxDistanceKm")
	code, _ = s.rest("GET", "/v1/doctors?"+q.Encode(), "", nil, &found)
	if code != http.StatusOK || len(found.Results) != 2 || found.Results[0].Profile.DoctorID != docID ||
		found.Results[1].Profile.DisplayName != "Dr. Bruno Lima" || found.Results[1].DistanceKm < 81 || found.Results[1].DistanceKm > 87 {
		t.Errorf("search without radius: %d %+v", code, found)
	}

	var doctor struct{ Profile profileJSON }
	code, _ = s.rest("GET", "/v1/doctors/"+docID, "", nil, &doctor)
	d := doctor.Profile
	if code != http.StatusOK || d.DoctorID != docID || len(d.Specialties) != 2 ||
		d.Specialties[0].Code != "cardiologia" || d.Specialties[0].Name != "Cardiologia" || d.Specialties[0].Rqe != "12345" ||
		d.Specialties[1].Name != "Clínica Médica" || d.Price.AmountCents != "25000" || d.Price.Currency != "BRL" ||
		d.Location.City != "São Paulo" || d.Location.Point.Latitude != -23.5614 || d.TimeZone != "America/Sao_Paulo" {
		t.Errorf("GET doctor: %d %+v", code, doctor)
	}
	var e errorJSON
	if code, _ := s.rest("GET", "/v1/doctors/"+incompleteID, "", nil, &e); code != http.StatusNotFound || reason(e) != directory.ReasonDoctorNotFound.Name() {
		t.Errorf("GET incomplete doctor: %d %+v", code, e)
	}

	var specialties struct{ Specialties []struct{ Code, Name string } }
	code, _ = s.rest("GET", "/v1/specialties", "", nil, &specialties)
	list := specialties.Specialties
	if code != http.StatusOK || len(list) != 55 || list[0].Name != "Acupuntura" || list[len(list)-1].Name != "Urologia" ||
		!slices.ContainsFunc(list, func(sp struct{ Code, Name string }) bool { return sp.Code == "cardiologia" && sp.Name == "Cardiologia" }) {
		t.Errorf("GET specialties: %d, %d specialties", code, len(list))
	}

	// Bad input is a 400 naming the field; a profile needs a doctor's token.
	e = errorJSON{}
	code, _ = s.rest("GET", "/v1/doctors?point.latitude=91&point.longitude=-46.63", "", nil, &e)
	if code != http.StatusBadRequest || reason(e) != server.ReasonValidationFailed.Name() || !slices.Equal(violations(e), []string{"point.latitude"}) {
		t.Errorf("latitude 91: %d %+v", code, e)
	}
	// A partial point is refused, not read as longitude 0; so are NaN, an unknown
	// parameter and a NUL.
	for _, tc := range []struct{ query, field string }{
		{"point.latitude=-23.55", "point.longitude"},
		{"point.latitude=NaN&point.longitude=-46.63", "point.latitude"},
		{"specilty=cardiologia", "specilty"},
		{"name=Ana%00", "name"},
	} {
		e = errorJSON{}
		code, _ = s.rest("GET", "/v1/doctors?"+tc.query, "", nil, &e)
		if code != http.StatusBadRequest || reason(e) != server.ReasonValidationFailed.Name() || !slices.Equal(violations(e), []string{tc.field}) {
			t.Errorf("?%s: %d %+v, want 400 VALIDATION_FAILED naming %s", tc.query, code, e, tc.field)
		}
	}
	e = errorJSON{}
	code, _ = s.rest("GET", "/v1/doctors?maxDistanceKm=25", "", nil, &e)
	if code != http.StatusBadRequest || reason(e) != directory.ReasonSearchInvalid.Name() || !slices.Equal(violations(e), []string{"max_distance_km"}) {
		t.Errorf("radius without a point: %d %+v", code, e)
	}
	e = errorJSON{}
	if code, _ := s.rest("PUT", "/v1/doctors/me/profile", "", profile, &e); code != http.StatusUnauthorized || reason(e) != authn.ReasonTokenMissing.Name() {
		t.Errorf("anonymous PUT profile: %d %+v", code, e)
	}
	s.rest("POST", "/v1/accounts/patients", "", map[string]string{
		"name": "Maria da Silva", "email": "maria@example.com", "cpf": "529.982.247-25",
		"password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1985-04-12",
	}, nil)
	var login struct{ Tokens tokenPair }
	s.rest("POST", "/v1/auth/login", "", map[string]string{"email": "maria@example.com", "password": "correct horse battery"}, &login)
	e = errorJSON{}
	if code, _ := s.rest("PUT", "/v1/doctors/me/profile", login.Tokens.AccessToken, profile, &e); code != http.StatusForbidden || reason(e) != authn.ReasonRoleNotAllowed.Name() {
		t.Errorf("patient PUT profile: %d %+v", code, e)
	}
}
