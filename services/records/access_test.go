package records

import (
	"context"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

// calls makes every RPC of the service as u, on document id and group gid, and
// returns each one's error by name.
func (f *fixture) calls(u user, id, gid string) map[string]error {
	ctx := context.Background()
	out := map[string]error{}
	_, out["UploadDocument"] = f.upload(u, meta("x", "application/pdf"), pdf(500))
	_, _, out["DownloadDocument"] = f.download(u, id)
	_, out["ListDocuments"] = f.client.ListDocuments(ctx, authed(&recordsv1.ListDocumentsRequest{}, u.token))
	_, out["GetDocument"] = f.client.GetDocument(ctx, authed(&recordsv1.GetDocumentRequest{DocumentId: id}, u.token))
	_, out["UpdateDocument"] = f.client.UpdateDocument(ctx, authed(&recordsv1.UpdateDocumentRequest{DocumentId: id, Title: "x", UpdateMask: mask("title")}, u.token))
	_, out["DeleteDocument"] = f.client.DeleteDocument(ctx, authed(&recordsv1.DeleteDocumentRequest{DocumentId: id}, u.token))
	_, out["CreateGroup"] = f.client.CreateGroup(ctx, authed(&recordsv1.CreateGroupRequest{Name: "g"}, u.token))
	_, out["ListGroups"] = f.client.ListGroups(ctx, authed(&recordsv1.ListGroupsRequest{}, u.token))
	_, out["RenameGroup"] = f.client.RenameGroup(ctx, authed(&recordsv1.RenameGroupRequest{GroupId: gid, Name: "h"}, u.token))
	_, out["ListAccessLog"] = f.client.ListAccessLog(ctx, authed(&recordsv1.ListAccessLogRequest{}, u.token))
	return out
}

func TestAccess_DoctorsAreRefusedEveryCallAndAnonymousCallersAreUnauthenticated(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	doc := f.mustUpload(alice, meta("a", "application/pdf"), pdf(500))
	g := f.mustGroup(alice, "g0")
	for name, err := range f.calls(f.newDoctor(), doc.GetId(), g.GetId()) {
		t.Run("doctor "+name, func(t *testing.T) {
			if name == "GetDocument" || name == "DownloadDocument" { // doctors may read through a grant; none here
				testkit.WantReason(t, err, ReasonDocumentNotFound)
				return
			}
			testkit.WantReason(t, err, authn.ReasonRoleNotAllowed)
		})
	}
	for name, err := range f.calls(user{}, doc.GetId(), g.GetId()) {
		t.Run("anonymous "+name, func(t *testing.T) {
			if connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("got %v, want UNAUTHENTICATED", err)
			}
		})
	}
	if n := f.count(`SELECT count(*) FROM documents`); n != 1 {
		t.Errorf("documents = %d, want 1", n)
	}
}

func TestAccess_AnotherPatientCannotSeeOrTouchADocument(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.newPatient(), f.newPatient()
	data := pdf(5000)
	doc := f.mustUpload(alice, meta("Laudo", "application/pdf"), data)
	g := f.mustGroup(alice, "Laudos")

	ctx := context.Background()
	_, err := f.client.GetDocument(ctx, authed(&recordsv1.GetDocumentRequest{DocumentId: doc.GetId()}, bob.token))
	testkit.WantReason(t, err, ReasonDocumentNotFound)
	_, got, err := f.download(bob, doc.GetId())
	testkit.WantReason(t, err, ReasonDocumentNotFound)
	if len(got) != 0 {
		t.Errorf("bob received %d bytes", len(got))
	}
	_, err = f.update(bob, &recordsv1.UpdateDocumentRequest{DocumentId: doc.GetId(), Title: "mine", UpdateMask: mask("title")})
	testkit.WantReason(t, err, ReasonDocumentNotFound)
	_, err = f.client.DeleteDocument(ctx, authed(&recordsv1.DeleteDocumentRequest{DocumentId: doc.GetId()}, bob.token))
	testkit.WantReason(t, err, ReasonDocumentNotFound)
	if ids := f.listAll(bob, &recordsv1.ListDocumentsRequest{}); len(ids) != 0 {
		t.Errorf("bob lists %v", ids)
	}
	_, err = f.upload(bob, &recordsv1.UploadMetadata{Title: "x", Kind: exam, ContentType: "application/pdf", GroupId: g.GetId()}, pdf(500))
	testkit.WantReason(t, err, ReasonGroupNotFound)

	// A missing document answers alike: the answer tells nothing of existence.
	_, err = f.client.GetDocument(ctx, authed(&recordsv1.GetDocumentRequest{DocumentId: "0b5c7a7e-1f7e-4d8e-9a43-0a3c1d1e2f30"}, bob.token))
	testkit.WantReason(t, err, ReasonDocumentNotFound)

	// Alice's document is untouched.
	after, back, err := f.download(alice, doc.GetId())
	if err != nil || after.GetTitle() != "Laudo" || len(back) != len(data) {
		t.Errorf("alice's document after bob's attempts: %v, %d bytes, %v", after, len(back), err)
	}
}

func (f *fixture) accessLog(u user, r *recordsv1.ListAccessLogRequest) []*recordsv1.AccessLogEntry {
	f.t.Helper()
	var out []*recordsv1.AccessLogEntry
	for {
		resp, err := f.client.ListAccessLog(context.Background(), authed(r, u.token))
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, resp.Msg.GetEntries()...)
		if resp.Msg.GetNextPageToken() == "" {
			return out
		}
		r.PageToken = resp.Msg.GetNextPageToken()
	}
}

func TestAccessLog_RecordsEveryActionWithWhoWhatWhereAndOutcome(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.newPatient(), f.newPatient()
	start := time.Now().Add(-time.Second)
	ctx := context.Background()

	g := f.mustGroup(alice, "Exames")
	doc := f.mustUpload(alice, meta("Hemograma", "application/pdf"), pdf(5000))
	_, err := f.upload(alice, meta("text", "application/pdf"), []byte("not a pdf at all, only text"))
	testkit.WantReason(t, err, ReasonContentTypeMismatch)
	if _, _, err := f.download(alice, doc.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.GetDocument(ctx, authed(&recordsv1.GetDocumentRequest{DocumentId: doc.GetId()}, alice.token)); err != nil {
		t.Fatal(err)
	}
	f.listAll(alice, &recordsv1.ListDocumentsRequest{})
	if _, err := f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: doc.GetId(), GroupId: g.GetId(), UpdateMask: mask("group_id")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.RenameGroup(ctx, authed(&recordsv1.RenameGroupRequest{GroupId: g.GetId(), Name: "Exames 2024"}, alice.token)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.ListGroups(ctx, authed(&recordsv1.ListGroupsRequest{}, alice.token)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.DeleteDocument(ctx, authed(&recordsv1.DeleteDocumentRequest{DocumentId: doc.GetId()}, alice.token)); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.download(bob, doc.GetId()) // denied, and filed in bob's own log
	testkit.WantReason(t, err, ReasonDocumentNotFound)

	end := timestamppb.Now() // reading the log adds entries; look only at those before

	type row struct{ action, document, group, outcome, reason string }
	want := []row{ // newest first
		{actDelete, doc.GetId(), "", outcomeOK, ""},
		{actGroupList, "", "", outcomeOK, ""},
		{actGroupRename, "", g.GetId(), outcomeOK, ""},
		{actUpdate, doc.GetId(), g.GetId(), outcomeOK, ""},
		{actList, "", "", outcomeOK, ""},
		{actRead, doc.GetId(), "", outcomeOK, ""},
		{actDownload, doc.GetId(), "", outcomeOK, ""},
		{actUpload, "", "", outcomeInvalid, ReasonContentTypeMismatch.Name()},
		{actUpload, doc.GetId(), "", outcomeOK, ""},
		{actGroupCreate, "", g.GetId(), outcomeOK, ""},
	}
	entries := f.accessLog(alice, &recordsv1.ListAccessLogRequest{PageSize: 3, EndTime: end})
	var got []row
	for _, e := range entries {
		got = append(got, row{e.GetAction(), e.GetDocumentId(), e.GetGroupId(), e.GetOutcome(), e.GetReason()})
		if e.GetActorId() != alice.id || e.GetActorRole() != "patient" || e.GetActorCrm() != "" ||
			e.GetClientAddress() != testClientAddr || e.GetRequestId() != testRequestID ||
			e.GetTime().AsTime().Before(start) || e.GetTime().AsTime().After(time.Now()) {
			t.Errorf("entry %v: want actor %s (patient) from %s, request %s", e, alice.id, testClientAddr, testRequestID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("alice's log:\n got  %v\n want %v", got, want)
	}

	// Bob sees only his own log: his refused download, then nothing of alice's.
	bobs := f.accessLog(bob, &recordsv1.ListAccessLogRequest{EndTime: end})
	if len(bobs) != 1 || bobs[0].GetAction() != actDownload || bobs[0].GetOutcome() != outcomeDenied ||
		bobs[0].GetReason() != ReasonDocumentNotFound.Name() || bobs[0].GetActorId() != bob.id || bobs[0].GetDocumentId() != doc.GetId() {
		t.Errorf("bob's log = %v", bobs)
	}

	// Filters: by actor, and by time.
	if n := len(f.accessLog(alice, &recordsv1.ListAccessLogRequest{ActorId: bob.id})); n != 0 {
		t.Errorf("alice's log by bob has %d entries", n)
	}
	all := f.accessLog(alice, &recordsv1.ListAccessLogRequest{EndTime: end})
	if n := len(f.accessLog(alice, &recordsv1.ListAccessLogRequest{EndTime: timestamppb.New(start)})); n != 0 {
		t.Errorf("entries before the test: %d", n)
	}
	mid := all[len(all)/2].GetTime()
	older := f.accessLog(alice, &recordsv1.ListAccessLogRequest{EndTime: mid})
	newer := f.accessLog(alice, &recordsv1.ListAccessLogRequest{StartTime: mid, EndTime: end})
	if len(older)+len(newer) != len(all) || len(newer) == 0 {
		t.Errorf("split at %v: %d older + %d newer, want %d in all", mid.AsTime(), len(older), len(newer), len(all))
	}
	for _, e := range older {
		if !e.GetTime().AsTime().Before(mid.AsTime()) {
			t.Errorf("entry at %v is not before %v", e.GetTime().AsTime(), mid.AsTime())
		}
	}
	_, err = f.client.ListAccessLog(ctx, authed(&recordsv1.ListAccessLogRequest{StartTime: mid, EndTime: mid}, alice.token))
	testkit.WantReason(t, err, ReasonTimeRangeInvalid)

	// Reading the log is logged too.
	if n := f.count(`SELECT count(*) FROM access_log WHERE action = $1 AND actor_id = $2`, actLogRead, alice.id); n < 5 {
		t.Errorf("access_log.read entries = %d", n)
	}
}

func TestAccessLog_IsAppendOnly(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	f.mustUpload(alice, meta("a", "application/pdf"), pdf(500))
	ctx := context.Background()
	if _, err := f.db.Exec(ctx, `UPDATE access_log SET outcome = 'denied'`); err == nil {
		t.Error("access_log accepted an UPDATE")
	}
	if _, err := f.db.Exec(ctx, `DELETE FROM access_log`); err == nil {
		t.Error("access_log accepted a DELETE")
	}
	if _, err := f.db.Exec(ctx, `TRUNCATE access_log`); err == nil {
		t.Error("access_log accepted a TRUNCATE")
	}
	if n := f.count(`SELECT count(*) FROM access_log WHERE outcome = 'ok'`); n != 1 {
		t.Errorf("ok entries = %d, want the upload's", n)
	}
}
