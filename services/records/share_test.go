package records

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

func (f *fixture) share(p, d user, docs, groups []string, until time.Time) (*recordsv1.Share, error) {
	resp, err := f.client.ShareRecords(context.Background(), authed(&recordsv1.ShareRecordsRequest{
		DoctorId: d.id, DocumentIds: docs, GroupIds: groups, ExpireTime: timestamppb.New(until)}, p.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetShare(), nil
}

func (f *fixture) mustShare(p, d user, docs, groups []string, until time.Time) *recordsv1.Share {
	f.t.Helper()
	sh, err := f.share(p, d, docs, groups, until)
	if err != nil {
		f.t.Fatalf("share: %v", err)
	}
	return sh
}

func (f *fixture) revoke(p user, id string) error {
	_, err := f.client.RevokeShare(context.Background(), authed(&recordsv1.RevokeShareRequest{ShareId: id}, p.token))
	return err
}

func (f *fixture) get(u user, id string) error {
	_, err := f.client.GetDocument(context.Background(), authed(&recordsv1.GetDocumentRequest{DocumentId: id}, u.token))
	return err
}

func (f *fixture) sharedWithMe(u user) []*recordsv1.SharedDocument {
	f.t.Helper()
	resp, err := f.client.ListSharedWithMe(context.Background(), authed(&recordsv1.ListSharedWithMeRequest{}, u.token))
	if err != nil {
		f.t.Fatalf("ListSharedWithMe: %v", err)
	}
	return resp.Msg.GetDocuments()
}

// want is the reason a call must fail with; the zero Reason wants success.
type want = errs.Reason

func check(t *testing.T, err error, w want) {
	t.Helper()
	if w == (want{}) {
		if err != nil {
			t.Fatalf("got %v, want success", err)
		}
		return
	}
	testkit.WantReason(t, err, w)
}

func TestShare_AuthorizationMatrix(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.newPatient(), f.newPatient()
	doc := f.mustUpload(alice, meta("Hemograma", "application/pdf"), pdf(3000))
	spare := f.mustUpload(alice, meta("Spare", "application/pdf"), pdf(600))
	g := f.mustGroup(alice, "Exames")

	live, expired, revoked, never := f.listedDoctor(), f.listedDoctor(), f.listedDoctor(), f.listedDoctor()
	admin := f.sign(accessv1.Role_ROLE_ADMIN, "")
	now := f.now()
	all := []string{doc.GetId(), spare.GetId()}
	f.mustShare(alice, live, all, nil, now.Add(30*24*time.Hour))
	f.mustShare(alice, expired, all, nil, now.Add(time.Hour))
	rs := f.mustShare(alice, revoked, all, nil, now.Add(30*24*time.Hour))
	if err := f.revoke(alice, rs.GetId()); err != nil {
		t.Fatal(err)
	}
	toRevoke := f.mustShare(alice, never, []string{spare.GetId()}, nil, now.Add(2*time.Hour))
	if err := f.revoke(alice, toRevoke.GetId()); err != nil { // never: its only grant of doc is none
		t.Fatal(err)
	}
	f.advance(2 * time.Hour) // expired's grant has ended, live's has not

	ok := want{}
	role := authn.ReasonRoleNotAllowed
	docNF := ReasonDocumentNotFound
	rpcs := []string{"UploadDocument", "DownloadDocument", "ListDocuments", "GetDocument", "UpdateDocument", "DeleteDocument",
		"CreateGroup", "ListGroups", "RenameGroup", "ListAccessLog", "ShareRecords", "RevokeShare", "ListShares", "ListSharedWithMe"}
	doctorRow := func(read want) map[string]want {
		m := map[string]want{}
		for _, r := range rpcs {
			m[r] = role
		}
		m["GetDocument"], m["DownloadDocument"], m["ListSharedWithMe"] = read, read, ok
		return m
	}
	adminRow := map[string]want{}
	for _, r := range rpcs {
		adminRow[r] = role
	}
	callers := []struct {
		name   string
		u      user
		expect map[string]want
	}{
		{"patient B", bob, map[string]want{
			"UploadDocument": ok, "DownloadDocument": docNF, "ListDocuments": ok, "GetDocument": docNF, "UpdateDocument": docNF,
			"DeleteDocument": docNF, "CreateGroup": ok, "ListGroups": ok, "RenameGroup": ReasonGroupNotFound,
			"ListAccessLog": ok, "ShareRecords": ReasonDocumentNotFound,
			"RevokeShare": ReasonShareNotFound, "ListShares": ok, "ListSharedWithMe": role,
		}},
		{"doctor live grant", live, doctorRow(ok)},
		{"doctor expired grant", expired, doctorRow(ReasonShareExpired)},
		{"doctor revoked grant", revoked, doctorRow(ReasonShareRevoked)},
		{"doctor never granted", never, doctorRow(docNF)},
		{"admin", admin, adminRow},
		{"patient A (owner)", alice, map[string]want{ // last: it deletes the spare document
			"UploadDocument": ok, "DownloadDocument": ok, "ListDocuments": ok, "GetDocument": ok, "UpdateDocument": ok,
			"DeleteDocument": ok, "CreateGroup": ok, "ListGroups": ok, "RenameGroup": ok, "ListAccessLog": ok,
			"ShareRecords": ok, "RevokeShare": ok, "ListShares": ok, "ListSharedWithMe": role,
		}},
	}
	for i, c := range callers {
		got := f.matrixCalls(c.u, doc.GetId(), spare.GetId(), g.GetId(), live, rs.GetId(), i)
		for _, r := range rpcs {
			t.Run(c.name+"/"+r, func(t *testing.T) { check(t, got[r], c.expect[r]) })
		}
	}
}

// matrixCalls makes every RPC as u. Reads name doc; deletes name spare; ShareRecords
// shares doc with doctor; RevokeShare revokes shareID (already revoked: idempotent).
func (f *fixture) matrixCalls(u user, doc, spare, gid string, doctor user, shareID string, n int) map[string]error {
	ctx := context.Background()
	out := map[string]error{}
	_, out["UploadDocument"] = f.upload(u, meta("x", "application/pdf"), pdf(500))
	_, _, out["DownloadDocument"] = f.download(u, doc)
	_, out["ListDocuments"] = f.client.ListDocuments(ctx, authed(&recordsv1.ListDocumentsRequest{}, u.token))
	out["GetDocument"] = f.get(u, doc)
	_, out["UpdateDocument"] = f.client.UpdateDocument(ctx, authed(&recordsv1.UpdateDocumentRequest{DocumentId: doc, Title: "x", UpdateMask: mask("title")}, u.token))
	_, out["DeleteDocument"] = f.client.DeleteDocument(ctx, authed(&recordsv1.DeleteDocumentRequest{DocumentId: spare}, u.token))
	_, out["CreateGroup"] = f.client.CreateGroup(ctx, authed(&recordsv1.CreateGroupRequest{Name: "g" + string(rune('a'+n))}, u.token))
	_, out["ListGroups"] = f.client.ListGroups(ctx, authed(&recordsv1.ListGroupsRequest{}, u.token))
	_, out["RenameGroup"] = f.client.RenameGroup(ctx, authed(&recordsv1.RenameGroupRequest{GroupId: gid, Name: "h"}, u.token))
	_, out["ListAccessLog"] = f.client.ListAccessLog(ctx, authed(&recordsv1.ListAccessLogRequest{}, u.token))
	_, out["ShareRecords"] = f.share(u, doctor, []string{doc}, nil, f.now().Add(24*time.Hour))
	out["RevokeShare"] = f.revoke(u, shareID)
	_, out["ListShares"] = f.client.ListShares(ctx, authed(&recordsv1.ListSharesRequest{}, u.token))
	_, out["ListSharedWithMe"] = f.client.ListSharedWithMe(ctx, authed(&recordsv1.ListSharedWithMeRequest{}, u.token))
	return out
}

func TestShare_ExpiryAndRevocationTakeEffectOnTheNextRequest(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	data := pdf(4000)
	doc := f.mustUpload(alice, meta("Laudo", "application/pdf"), data)
	d1, d2 := f.listedDoctor(), f.listedDoctor()

	until := f.now().Add(48 * time.Hour)
	f.mustShare(alice, d1, []string{doc.GetId()}, nil, until)
	if err := f.get(d1, doc.GetId()); err != nil {
		t.Fatal(err)
	}
	_, got, err := f.download(d1, doc.GetId())
	if err != nil || string(got) != string(data) {
		t.Fatalf("download: %v (%d bytes)", err, len(got))
	}
	f.advance(until.Sub(f.now()) - time.Second) // just before expire_time
	if err := f.get(d1, doc.GetId()); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	f.advance(2 * time.Second) // just past it
	testkit.WantReason(t, f.get(d1, doc.GetId()), ReasonShareExpired)
	_, got, err = f.download(d1, doc.GetId())
	testkit.WantReason(t, err, ReasonShareExpired)
	if len(got) != 0 {
		t.Errorf("expired download sent %d bytes", len(got))
	}
	if n := len(f.sharedWithMe(d1)); n != 0 {
		t.Errorf("shared-with-me after expiry lists %d documents", n)
	}

	sh := f.mustShare(alice, d2, []string{doc.GetId()}, nil, f.now().Add(time.Hour))
	if err := f.get(d2, doc.GetId()); err != nil {
		t.Fatal(err)
	}
	if err := f.revoke(alice, sh.GetId()); err != nil {
		t.Fatal(err)
	}
	testkit.WantReason(t, f.get(d2, doc.GetId()), ReasonShareRevoked)
	_, _, err = f.download(d2, doc.GetId())
	testkit.WantReason(t, err, ReasonShareRevoked)
	if err := f.revoke(alice, sh.GetId()); err != nil { // idempotent
		t.Fatalf("second revoke: %v", err)
	}

	resp, err := f.client.ListShares(context.Background(), authed(&recordsv1.ListSharesRequest{}, alice.token))
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]recordsv1.ShareStatus{}
	for _, s := range resp.Msg.GetShares() {
		status[s.GetDoctorId()] = s.GetStatus()
	}
	if status[d1.id] != recordsv1.ShareStatus_SHARE_STATUS_EXPIRED || status[d2.id] != recordsv1.ShareStatus_SHARE_STATUS_REVOKED {
		t.Errorf("statuses = %v", status)
	}

	// A new live grant opens the document again.
	f.mustShare(alice, d2, []string{doc.GetId()}, nil, f.now().Add(time.Hour))
	if err := f.get(d2, doc.GetId()); err != nil {
		t.Fatal(err)
	}
}

func TestShare_GroupsAreEvaluatedAtReadTime(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	g := f.mustGroup(alice, "Cardio")
	in := f.mustUpload(alice, &recordsv1.UploadMetadata{Title: "in", Kind: exam, ContentType: "application/pdf", GroupId: g.GetId()}, pdf(700))
	later := f.mustUpload(alice, meta("later", "application/pdf"), pdf(700))
	d := f.listedDoctor()
	until := f.now().Add(24 * time.Hour)
	f.mustShare(alice, d, nil, []string{g.GetId()}, until)

	if err := f.get(d, in.GetId()); err != nil {
		t.Fatal(err)
	}
	testkit.WantReason(t, f.get(d, later.GetId()), ReasonDocumentNotFound)

	if _, err := f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: later.GetId(), GroupId: g.GetId(), UpdateMask: mask("group_id")}); err != nil {
		t.Fatal(err)
	}
	if err := f.get(d, later.GetId()); err != nil {
		t.Fatalf("document added to the shared group: %v", err)
	}
	if _, err := f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: in.GetId(), UpdateMask: mask("group_id")}); err != nil {
		t.Fatal(err)
	}
	testkit.WantReason(t, f.get(d, in.GetId()), ReasonDocumentNotFound)
	got := f.sharedWithMe(d)
	if len(got) != 1 || got[0].GetDocument().GetId() != later.GetId() || got[0].GetDocument().GetPatientId() != alice.id ||
		!got[0].GetExpireTime().AsTime().Equal(until.Truncate(time.Microsecond)) {
		t.Errorf("shared with me = %v", got)
	}
}

func TestShare_Validation(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.newPatient(), f.newPatient()
	doc := f.mustUpload(alice, meta("a", "application/pdf"), pdf(500))
	deleted := f.mustUpload(alice, meta("b", "application/pdf"), pdf(500))
	if _, err := f.client.DeleteDocument(context.Background(), authed(&recordsv1.DeleteDocumentRequest{DocumentId: deleted.GetId()}, alice.token)); err != nil {
		t.Fatal(err)
	}
	g := f.mustGroup(alice, "g")
	bobDoc := f.mustUpload(bob, meta("c", "application/pdf"), pdf(500))
	bobGroup := f.mustGroup(bob, "g")
	d := f.listedDoctor()
	now := f.now()
	day := 24 * time.Hour

	for _, c := range []struct {
		name         string
		doctor       user
		docs, groups []string
		until        time.Time
		reason       errs.Reason
		field        string
	}{
		{"past", d, []string{doc.GetId()}, nil, now.Add(-time.Minute), ReasonExpireTimeInvalid, "expire_time"},
		{"too far", d, []string{doc.GetId()}, nil, now.Add(91 * day), ReasonExpireTimeInvalid, "expire_time"},
		{"empty", d, nil, nil, now.Add(day), ReasonShareEmpty, "document_ids"},
		{"foreign document", d, []string{doc.GetId(), bobDoc.GetId()}, nil, now.Add(day), ReasonDocumentNotFound, "document_ids[1]"},
		{"deleted document", d, []string{deleted.GetId()}, nil, now.Add(day), ReasonDocumentNotFound, "document_ids[0]"},
		{"foreign group", d, nil, []string{g.GetId(), bobGroup.GetId()}, now.Add(day), ReasonGroupNotFound, "group_ids[1]"},
		{"unknown doctor", f.newDoctor(), []string{doc.GetId()}, nil, now.Add(day), ReasonDoctorNotFound, "doctor_id"},
		{"a patient is no doctor", bob, []string{doc.GetId()}, nil, now.Add(day), ReasonDoctorNotFound, "doctor_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.share(alice, c.doctor, c.docs, c.groups, c.until)
			testkit.WantReason(t, err, c.reason)
			if got := violationFields(t, err); got != c.field {
				t.Errorf("violations = %q, want %q", got, c.field)
			}
		})
	}
	if n := f.count(`SELECT count(*) FROM shares`); n != 0 {
		t.Errorf("%d shares stored", n)
	}
	// The refusals that name a field are filed as invalid, the NOT_FOUND ones too.
	if n := f.count(`SELECT count(*) FROM access_log WHERE action = $1 AND outcome = $2 AND reason = ANY($3)`, actShare, outcomeInvalid,
		[]string{ReasonDocumentNotFound.Name(), ReasonGroupNotFound.Name(), ReasonDoctorNotFound.Name()}); n != 5 {
		t.Errorf("%d invalid share entries for missing documents, groups and doctors, want 5", n)
	}
	// Duplicates are refused by the validation rules.
	_, err := f.share(alice, d, []string{doc.GetId(), doc.GetId()}, nil, now.Add(day))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("duplicate ids: %v", err)
	}
	// A grant within the default maximum (90 days) is accepted.
	if _, err := f.share(alice, d, []string{doc.GetId()}, nil, f.now().Add(90*day-time.Minute)); err != nil {
		t.Errorf("within 90 days: %v", err)
	}
}

func TestShare_MaxShareIsConfigurable(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxShare = 7 * 24 * time.Hour
	f := newFixtureWith(t, cfg)
	alice := f.newPatient()
	doc := f.mustUpload(alice, meta("a", "application/pdf"), pdf(500))
	d := f.listedDoctor()
	_, err := f.share(alice, d, []string{doc.GetId()}, nil, f.now().Add(8*24*time.Hour))
	testkit.WantReason(t, err, ReasonExpireTimeInvalid)
	if _, err := f.share(alice, d, []string{doc.GetId()}, nil, f.now().Add(6*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func TestShare_NoReadPassesAfterRevokeReturns(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	doc := f.mustUpload(alice, meta("a", "application/pdf"), pdf(2000))
	d := f.listedDoctor()
	for round := range 5 {
		sh := f.mustShare(alice, d, []string{doc.GetId()}, nil, f.now().Add(time.Hour))
		var (
			mu       sync.Mutex
			revoked  bool
			violated int
			wg       sync.WaitGroup
		)
		stop := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					after := revoked // the revoke had returned before this read began
					mu.Unlock()
					err := f.get(d, doc.GetId())
					if after && err == nil {
						mu.Lock()
						violated++
						mu.Unlock()
					}
					if err != nil && connect.CodeOf(err) != connect.CodePermissionDenied {
						t.Errorf("read: %v", err)
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		if err := f.revoke(alice, sh.GetId()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		revoked = true
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		close(stop)
		wg.Wait()
		if violated > 0 {
			t.Fatalf("round %d: %d reads passed after RevokeShare returned", round, violated)
		}
		testkit.WantReason(t, f.get(d, doc.GetId()), ReasonShareRevoked)
	}
}

func TestShare_AccessLogShowsTheDoctorsReadsAndDenials(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	doc := f.mustUpload(alice, meta("a", "application/pdf"), pdf(900))
	d := f.listedDoctor()
	crm := "123456/SP"
	sh := f.mustShare(alice, d, []string{doc.GetId()}, nil, f.now().Add(time.Hour))
	if err := f.get(d, doc.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.download(d, doc.GetId()); err != nil {
		t.Fatal(err)
	}
	if err := f.revoke(alice, sh.GetId()); err != nil {
		t.Fatal(err)
	}
	testkit.WantReason(t, f.get(d, doc.GetId()), ReasonShareRevoked)

	f.waitFor("the download's entry", func() bool {
		return f.count(`SELECT count(*) FROM access_log WHERE actor_id = $1 AND action = 'document.download'`, d.id) == 1
	})
	resp, err := f.client.ListAccessLog(context.Background(), authed(&recordsv1.ListAccessLogRequest{ActorId: d.id}, alice.token))
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ action, outcome, reason, doc, share string }
	var got []row
	for _, e := range resp.Msg.GetEntries() {
		if e.GetActorCrm() != crm || e.GetActorRole() != "doctor" {
			t.Errorf("entry by %q %q, want doctor %s", e.GetActorRole(), e.GetActorCrm(), crm)
		}
		got = append(got, row{e.GetAction(), e.GetOutcome(), e.GetReason(), e.GetDocumentId(), e.GetShareId()})
	}
	want := []row{ // newest first
		{"document.read", "denied", ReasonShareRevoked.Name(), doc.GetId(), sh.GetId()},
		{"document.download", "ok", "", doc.GetId(), sh.GetId()},
		{"document.read", "ok", "", doc.GetId(), sh.GetId()},
	}
	if len(got) != len(want) {
		t.Fatalf("doctor's entries = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %v, want %v", i, got[i], want[i])
		}
	}
	// The share and the revoke are in the patient's log too.
	if n := f.count(`SELECT count(*) FROM access_log WHERE patient_id = $1 AND action IN ('share.create', 'share.revoke') AND share_id = $2`,
		alice.id, sh.GetId()); n != 2 {
		t.Errorf("share/revoke entries = %d, want 2", n)
	}
}

// A doctor whose token does not say verified (pending, rejected, suspended) reads
// nothing shared with them — the list, the metadata, the bytes — and each refusal is
// in the access log; the verified token of the same doctor reads it all.
func TestShare_DoctorNotVerifiedReadsNothing(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	data := pdf(3000)
	doc := f.mustUpload(alice, meta("Laudo", "application/pdf"), data)
	d := f.listedDoctor()
	f.mustShare(alice, d, []string{doc.GetId()}, nil, f.now().Add(time.Hour))
	unverified := user{d.id, f.users.SignPrincipal(authn.Principal{
		UserID: d.id, Role: accessv1.Role_ROLE_DOCTOR, CRM: fmt.Sprintf("%d/SP", f.crm),
		EmailVerified: true, AMR: []string{"pwd", "otp"},
	})}

	_, err := f.client.ListSharedWithMe(context.Background(), authed(&recordsv1.ListSharedWithMeRequest{}, unverified.token))
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
	testkit.WantReason(t, f.get(unverified, doc.GetId()), ReasonDoctorNotVerified)
	_, got, err := f.download(unverified, doc.GetId())
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
	if len(got) != 0 {
		t.Errorf("a refused download sent %d bytes", len(got))
	}
	if n := f.count(`SELECT count(*) FROM access_log WHERE actor_id = $1 AND outcome <> 'ok'`, d.id); n != 3 {
		t.Errorf("%d refusals of the unverified doctor logged, want 3", n)
	}

	if docs := f.sharedWithMe(d); len(docs) != 1 || docs[0].GetDocument().GetId() != doc.GetId() {
		t.Errorf("the verified doctor's shared list = %v", docs)
	}
	if err := f.get(d, doc.GetId()); err != nil {
		t.Errorf("the verified doctor's read: %v", err)
	}
	if _, got, err := f.download(d, doc.GetId()); err != nil || string(got) != string(data) {
		t.Errorf("the verified doctor's download: %v (%d bytes)", err, len(got))
	}
}
