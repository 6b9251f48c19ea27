package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/gen/healthcore/records/v1/recordsv1connect"
	"healthcore/internal/catalog"
	"healthcore/platform/pgtest"
	"healthcore/services/identity"
)

// dataSubject is the patient of the data-rights test and what the platform came to
// hold about them.
type dataSubject struct {
	id, email, cpf, name, phone, password, token string
	appointmentID, paymentID, justification      string
	documentID                                   string
	document                                     []byte
}

// registerDataSubject registers and logs in a patient.
func (s *stack) registerDataSubject(email, nine string) *dataSubject {
	s.t.Helper()
	p := &dataSubject{email: email, cpf: cpfFrom(nine), name: "Joana Pereira Lima", phone: "+5521998877665",
		password: "lgpd erasure passphrase"}
	if code, _ := s.rest("POST", "/v1/accounts/patients", "", map[string]string{
		"name": p.name, "email": p.email, "cpf": p.cpf, "password": p.password, "phone": p.phone, "birthDate": "1979-11-03",
	}, nil); code != http.StatusAccepted {
		s.t.Fatalf("register %s: %d", email, code)
	}
	s.verifyEmail(p.email) // booking and sharing need a confirmed address
	var login struct {
		Tokens  tokenPair
		Account accountJSON
	}
	s.rest("POST", "/v1/auth/login", "", map[string]string{"email": p.email, "password": p.password}, &login)
	if login.Tokens.AccessToken == "" {
		s.t.Fatalf("login %s failed", email)
	}
	p.id, p.token = login.Account.ID, login.Tokens.AccessToken
	return p
}

// loginByEmail returns an access token, or "" when the login is refused.
func (s *stack) loginByEmail(email, password string) string {
	s.t.Helper()
	var out struct{ Tokens tokenPair }
	s.rest("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, &out)
	return out.Tokens.AccessToken
}

// bookPayAndCancel gives the patient an appointment with a history (booked, paid,
// cancelled with a justification) and a payment with a refund.
func (s *stack) bookPayAndCancel(p *dataSubject) {
	s.t.Helper()
	doctorID, _ := s.openDoctor("Dr. Paulo Andrade", "778899", "paulo.lgpd@clinica.com.br", 30000, 0, 10)
	from := time.Now().Add(72 * time.Hour)
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(24*time.Hour)), "", nil, &slots)
	if len(slots.Slots) == 0 {
		s.t.Fatal("no free slot")
	}
	code, booked, e := s.book(p.token, slots.Slots[0].ID, "lgpd-first-booking")
	if code != http.StatusOK {
		s.t.Fatalf("book: %d %s", code, reason(e))
	}
	p.appointmentID = booked.Appointment.ID
	s.pay(p.token, p.appointmentID, true)
	s.waitState(p.token, p.appointmentID, "APPOINTMENT_STATE_AWAITING_DOCTOR")
	p.justification = "mudança de cidade, não poderei comparecer"
	if code, _ := s.rest("POST", "/v1/appointments/"+p.appointmentID+":cancel", p.token,
		map[string]string{"justification": p.justification}, nil); code != http.StatusOK {
		s.t.Fatalf("cancel: %d", code)
	}
	// The refund is the saga's next step: the archive is asked for once it is done.
	s.eventually("the cancellation's refund", 60*time.Second, func() bool {
		return s.payment(p.token, p.appointmentID).RefundedCents != "0"
	})
	p.paymentID = s.payment(p.token, p.appointmentID).ID
}

// uploadDocument stores a PDF of several cipher chunks in the patient's record.
func (s *stack) uploadDocument(p *dataSubject) {
	s.t.Helper()
	p.document = append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("laudo de ressonância: sem alterações\n"), 6000)...)
	req, _ := http.NewRequest("POST", s.gateway+"/v1/records/documents:upload?title=Resson%C3%A2ncia+2026&kind=EXAM", bytes.NewReader(p.document))
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var up struct{ Document struct{ ID string } }
	_ = json.NewDecoder(resp.Body).Decode(&up)
	if resp.StatusCode != http.StatusOK || up.Document.ID == "" {
		s.t.Fatalf("upload: %d", resp.StatusCode)
	}
	p.documentID = up.Document.ID
}

type dataExportJSON struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	ExpireTime time.Time `json:"expireTime"`
	SizeBytes  string    `json:"sizeBytes"`
}

// exportData asks for the patient's export and waits until it is ready.
func (s *stack) exportData(token string) dataExportJSON {
	s.t.Helper()
	var created struct{ Export dataExportJSON }
	if code, _ := s.rest("POST", "/v1/me/data-exports", token, map[string]any{}, &created); code != http.StatusOK ||
		created.Export.State != "DATA_EXPORT_STATE_PENDING" {
		s.t.Fatalf("create export: %d %+v", code, created)
	}
	var got struct{ Export dataExportJSON }
	s.eventually("export ready", 60*time.Second, func() bool {
		s.rest("GET", "/v1/me/data-exports/"+created.Export.ID, token, nil, &got)
		return got.Export.State == "DATA_EXPORT_STATE_READY"
	})
	return got.Export
}

// downloadExport returns the status and the body of an export's download.
func (s *stack) downloadExport(token, id string) (int, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.gateway+"/v1/me/data-exports/"+id+":download", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, body
}

// archiveFiles opens a zip and returns its files by name.
func archiveFiles(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("open archive: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], err = io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
	}
	return out
}

// TestMultiProcess_DataExportHoldsEverythingAndErasureKeepsOnlyWhatTheLawRequires is
// LGPD art. 18 over REST: a patient with a paid and cancelled appointment and a
// document downloads an archive holding each of them (the document byte for byte);
// another patient can neither read nor download it, nor can anyone once its window
// has passed. Then the patient erases the account: no login works, nothing personal
// is readable or stored, and the document still decrypts for the platform as its
// retention holder.
func TestMultiProcess_DataExportHoldsEverythingAndErasureKeepsOnlyWhatTheLawRequires(t *testing.T) {
	dbURL := pgtest.URL(t, catalog.Schemas(catalog.Names())...)
	s := startStackOn(t, dbURL)
	db := openPool(t, dbURL)
	p := s.registerDataSubject("joana.lgpd@example.com", "111444777")
	s.bookPayAndCancel(p)
	s.uploadDocument(p)
	if code, _ := s.rest("PATCH", "/v1/me/notification-preferences?updateMask=whatsapp,time_zone", p.token, map[string]any{
		"whatsapp": true, "consentTextVersion": "whatsapp-v1", "consentSource": "web", "timeZone": "America/Recife"}, nil); code != http.StatusOK {
		t.Fatalf("opt in to WhatsApp: %d", code)
	}

	export := s.exportData(p.token)
	code, archive := s.downloadExport(p.token, export.ID)
	if code != http.StatusOK || export.SizeBytes != itoa(len(archive)) {
		t.Fatalf("download: %d, %d bytes, export says %s", code, len(archive), export.SizeBytes)
	}
	files := archiveFiles(t, archive)
	checkArchive(t, p, files)

	other := s.registerDataSubject("outro.lgpd@example.com", "222555888")
	var e errorJSON
	if code, _ := s.rest("GET", "/v1/me/data-exports/"+export.ID, other.token, nil, &e); code != http.StatusNotFound ||
		reason(e) != identity.ReasonExportNotFound.Name() {
		t.Errorf("another patient reads the export: %d %s", code, reason(e))
	}
	if code, body := s.downloadExport(other.token, export.ID); code != http.StatusNotFound || bytes.Contains(body, []byte("PK")) {
		t.Errorf("another patient downloads the export: %d", code)
	}
	// The window's end is checked at read time: an export past it is refused before
	// the expiry job has deleted its archive.
	if _, err := db.Exec(context.Background(), `UPDATE identity.data_exports SET expires_at = now() - interval '1 second' WHERE id = $1`,
		export.ID); err != nil {
		t.Fatal(err)
	}
	code, body := s.downloadExport(p.token, export.ID)
	_ = json.Unmarshal(body, &e)
	if code != http.StatusBadRequest || reason(e) != identity.ReasonExportExpired.Name() {
		t.Errorf("download past the window: %d %s", code, reason(e))
	}

	s.eraseAndCheck(t, db, p)
}

// itoa is strconv.Itoa, for the JSON's int64-as-string.
func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// checkArchive checks that every service's part holds the patient's data.
func checkArchive(t *testing.T, p *dataSubject, files map[string][]byte) {
	t.Helper()
	var own struct {
		Account struct{ ID, Email, CPF, Phone, Name string }
	}
	if err := json.Unmarshal(files["identity.json"], &own); err != nil || own.Account.ID != p.id || own.Account.Email != p.email ||
		strings.NewReplacer(".", "", "-", "").Replace(own.Account.CPF) != p.cpf || own.Account.Phone != p.phone || own.Account.Name != p.name {
		t.Errorf("identity.json: %+v %v", own, err)
	}
	var appts struct {
		Appointments []struct {
			ID, State string
			History   []struct{ Kind, Reason string }
		}
	}
	if err := json.Unmarshal(files["scheduling.json"], &appts); err != nil || len(appts.Appointments) != 1 ||
		appts.Appointments[0].ID != p.appointmentID || appts.Appointments[0].State != "APPOINTMENT_STATE_CANCELLED" {
		t.Fatalf("scheduling.json: %+v %v", appts, err)
	}
	justified := false
	for _, h := range appts.Appointments[0].History {
		justified = justified || h.Reason == p.justification
	}
	if !justified || len(appts.Appointments[0].History) < 3 {
		t.Errorf("scheduling.json history lacks the justification: %+v", appts.Appointments[0].History)
	}
	var pays struct {
		Payments []struct {
			ID, AppointmentID, Status string
			Refunds                   []struct{ ID string }
		}
	}
	if err := json.Unmarshal(files["payments.json"], &pays); err != nil || len(pays.Payments) != 1 || pays.Payments[0].ID != p.paymentID ||
		pays.Payments[0].AppointmentID != p.appointmentID || len(pays.Payments[0].Refunds) != 1 {
		t.Errorf("payments.json: %+v %v", pays, err)
	}
	var recs struct {
		Documents []struct{ ID, Sha256 string }
		AccessLog []struct{ Action, DocumentID string }
	}
	if err := json.Unmarshal(files["records.json"], &recs); err != nil || len(recs.Documents) != 1 || recs.Documents[0].ID != p.documentID ||
		len(recs.AccessLog) == 0 {
		t.Errorf("records.json: %+v %v", recs, err)
	}
	var notes struct {
		Notifications []struct{ ID, Event, RecipientID string }
	}
	if err := json.Unmarshal(files["notifications.json"], &notes); err != nil || len(notes.Notifications) == 0 ||
		notes.Notifications[0].RecipientID != p.id {
		t.Errorf("notifications.json: %+v %v", notes, err)
	}
	name := "documents/" + p.documentID + "-Ressonância_2026.pdf"
	if got, ok := files[name]; !ok || !bytes.Equal(got, p.document) {
		var names []string
		for n := range files {
			names = append(names, n)
		}
		t.Errorf("%s: present %v, %d bytes, want the %d uploaded; archive has %v", name, ok, len(got), len(p.document), names)
	}
}

// eraseAndCheck erases the patient's account and checks what is left: no login, no
// personal field readable or stored, the document and payment kept, held, and the
// document still readable by the platform as the records' retention holder.
func (s *stack) eraseAndCheck(t *testing.T, db *pgxpool.Pool, p *dataSubject) {
	t.Helper()
	var e errorJSON
	if code, _ := s.rest("POST", "/v1/me:erase", p.token, map[string]string{"password": "not the password at all"}, &e); code != http.StatusUnauthorized ||
		reason(e) != identity.ReasonInvalidCredentials.Name() {
		t.Fatalf("erase with a wrong password: %d %s", code, reason(e))
	}
	var erased struct{ RecordsKeptUntil, PaymentsKeptUntil time.Time }
	if code, _ := s.rest("POST", "/v1/me:erase", p.token, map[string]string{"password": p.password}, &erased); code != http.StatusOK ||
		erased.RecordsKeptUntil.Year() != time.Now().Year()+20 || erased.PaymentsKeptUntil.Year() != time.Now().Year()+5 {
		t.Fatalf("erase: %d %+v", code, erased)
	}

	if s.loginByEmail(p.email, p.password) != "" {
		t.Error("login by e-mail works after the erasure")
	}
	if code, _ := s.rest("POST", "/v1/auth/login", "", map[string]string{"cpf": p.cpf, "password": p.password}, &e); code != http.StatusUnauthorized {
		t.Errorf("login by CPF after the erasure: %d", code)
	}
	s.eventually("the erased account's token refused", 20*time.Second, func() bool {
		code, _ := s.rest("GET", "/v1/me", p.token, nil, nil)
		return code == http.StatusUnauthorized
	})
	hc, url := s.as("payments", "identity")
	if _, err := identityv1connect.NewIdentityServiceClient(hc, url, connect.WithGRPC()).GetPayer(context.Background(),
		connect.NewRequest(&identityv1.GetPayerRequest{AccountId: p.id})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("GetPayer of the erased account: %v", err)
	}
	hc, url = s.as("notifications", "identity")
	if _, err := identityv1connect.NewIdentityServiceClient(hc, url, connect.WithGRPC()).GetContact(context.Background(),
		connect.NewRequest(&identityv1.GetContactRequest{AccountId: p.id})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("GetContact of the erased account: %v", err)
	}

	// The stored row holds none of the old values, in clear or sealed (no sealed
	// field is left at all).
	var row string
	var sealed, indexed bool
	if err := db.QueryRow(context.Background(), `SELECT row_to_json(a)::text, pii IS NOT NULL, cpf_index IS NOT NULL
		FROM identity.accounts a WHERE id = $1 AND erased_at IS NOT NULL`, p.id).Scan(&row, &sealed, &indexed); err != nil {
		t.Fatalf("erased row: %v", err)
	}
	for _, old := range []string{p.email, p.name, "Joana", p.cpf, p.phone, "1979-11-03"} {
		if strings.Contains(row, old) {
			t.Errorf("the erased row still holds %q: %s", old, row)
		}
	}
	if sealed || indexed {
		t.Errorf("the erased row keeps sealed fields (%v) or the CPF index (%v)", sealed, indexed)
	}

	// Notifications forgot the account: no preferences (time zone, consent text) left,
	// the WhatsApp consent withdrawn in the consent log, nothing left to send.
	s.eventually("notifications forget the account", 30*time.Second, func() bool {
		var prefs, withdrawn, pending int
		_ = db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM notifications.preferences WHERE account_id = $1),
			(SELECT count(*) FROM notifications.consents WHERE account_id = $1 AND NOT granted),
			(SELECT count(*) FROM notifications.notifications WHERE recipient_id = $1 AND status = 1)`, p.id).Scan(&prefs, &withdrawn, &pending)
		return prefs == 0 && withdrawn == 1 && pending == 0
	})

	// What the law keeps is kept and held until its date.
	var docUntil, payUntil *time.Time
	s.eventually("records and payments held", 30*time.Second, func() bool {
		_ = db.QueryRow(context.Background(), `SELECT retention_until FROM records.documents WHERE id = $1`, p.documentID).Scan(&docUntil)
		_ = db.QueryRow(context.Background(), `SELECT retention_until FROM payments.payments WHERE id = $1`, p.paymentID).Scan(&payUntil)
		return docUntil != nil && payUntil != nil
	})
	if docUntil.Year() != time.Now().Year()+20 || payUntil.Year() != time.Now().Year()+5 {
		t.Errorf("held until %s (records) and %s (payments)", docUntil, payUntil)
	}
	hc, url = s.as("identity", "records")
	stream, err := recordsv1connect.NewRecordsServiceClient(hc, url, connect.WithGRPC()).ReadPatientDocument(context.Background(),
		connect.NewRequest(&recordsv1.ReadPatientDocumentRequest{PatientId: p.id, DocumentId: p.documentID}))
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for stream.Receive() {
		got = append(got, stream.Msg().GetChunk()...)
	}
	if err := stream.Err(); err != nil || !bytes.Equal(got, p.document) {
		t.Errorf("the retention holder reads %d bytes (%v), want the %d uploaded", len(got), err, len(p.document))
	}
}
