package records

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/pagetoken"
	"healthcore/platform/testkit"
)

const (
	exam  = recordsv1.DocumentKind_DOCUMENT_KIND_EXAM
	image = recordsv1.DocumentKind_DOCUMENT_KIND_IMAGE
	rx    = recordsv1.DocumentKind_DOCUMENT_KIND_PRESCRIPTION
)

func (f *fixture) list(u user, r *recordsv1.ListDocumentsRequest) (*recordsv1.ListDocumentsResponse, error) {
	resp, err := f.client.ListDocuments(context.Background(), authed(r, u.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// listAll walks every page and returns the ids in order.
func (f *fixture) listAll(u user, r *recordsv1.ListDocumentsRequest) []string {
	f.t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		resp, err := f.list(u, r)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, d := range resp.GetDocuments() {
			ids = append(ids, d.GetId())
		}
		if resp.GetNextPageToken() == "" || pages > 50 {
			return ids
		}
		r.PageToken = resp.GetNextPageToken()
	}
}

func (f *fixture) createGroup(u user, name string) (*recordsv1.Group, error) {
	resp, err := f.client.CreateGroup(context.Background(), authed(&recordsv1.CreateGroupRequest{Name: name}, u.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetGroup(), nil
}

func (f *fixture) mustGroup(u user, name string) *recordsv1.Group {
	f.t.Helper()
	g, err := f.createGroup(u, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return g
}

func (f *fixture) update(u user, r *recordsv1.UpdateDocumentRequest) (*recordsv1.Document, error) {
	resp, err := f.client.UpdateDocument(context.Background(), authed(r, u.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetDocument(), nil
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func TestListDocuments_PagesNewestFirstWithoutDuplicatesAndFilters(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.newPatient(), f.newPatient()
	g := f.mustGroup(alice, "Cardiologia")
	var all, exams, inGroup []string
	for i := range 11 {
		md := meta("doc", "application/pdf")
		if i%3 == 0 {
			md.Kind = rx
		}
		if i%2 == 0 {
			md.GroupId = g.GetId()
		}
		id := f.mustUpload(alice, md, pdf(500)).GetId()
		all = append(all, id)
		if md.Kind == exam {
			exams = append(exams, id)
		}
		if md.GroupId != "" {
			inGroup = append(inGroup, id)
		}
	}
	f.mustUpload(bob, meta("bob's", "application/pdf"), pdf(500))
	// Every document at the same instant: the id alone must keep pages apart.
	if _, err := f.db.Exec(context.Background(), `UPDATE documents SET created_at = '2025-01-01T00:00:00Z'
		WHERE id = ANY($1::uuid[])`, all[3:7]); err != nil {
		t.Fatal(err)
	}
	want := f.listAll(alice, &recordsv1.ListDocumentsRequest{PageSize: 100})
	if len(want) != 11 {
		t.Fatalf("one page lists %d documents, want 11", len(want))
	}
	for _, size := range []int32{1, 3, 4} {
		got := f.listAll(alice, &recordsv1.ListDocumentsRequest{PageSize: size})
		if !slices.Equal(got, want) {
			t.Errorf("pages of %d = %v, want %v", size, got, want)
		}
	}
	// Newest first: the untouched documents in reverse upload order come first.
	if want[0] != all[10] {
		t.Errorf("first listed = %s, want the last uploaded %s", want[0], all[10])
	}
	gotExams := f.listAll(alice, &recordsv1.ListDocumentsRequest{Kind: exam, PageSize: 2})
	if !sameSet(gotExams, exams) {
		t.Errorf("exams = %v, want %v", gotExams, exams)
	}
	gotGroup := f.listAll(alice, &recordsv1.ListDocumentsRequest{GroupId: g.GetId(), PageSize: 2})
	if !sameSet(gotGroup, inGroup) {
		t.Errorf("group = %v, want %v", gotGroup, inGroup)
	}
	if got := f.listAll(bob, &recordsv1.ListDocumentsRequest{GroupId: g.GetId()}); len(got) != 0 {
		t.Errorf("bob lists alice's group: %v", got)
	}
}

func TestListDocuments_RefusesForeignOrForgedPageTokens(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	for range 3 {
		f.mustUpload(alice, meta("doc", "application/pdf"), pdf(500))
	}
	resp, err := f.list(alice, &recordsv1.ListDocumentsRequest{PageSize: 1})
	if err != nil || resp.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", resp, err)
	}
	_, err = f.list(alice, &recordsv1.ListDocumentsRequest{PageSize: 1, Kind: image, PageToken: resp.GetNextPageToken()})
	testkit.WantReason(t, err, pagetoken.ReasonInvalid)
	_, err = f.list(f.newPatient(), &recordsv1.ListDocumentsRequest{PageSize: 1, PageToken: resp.GetNextPageToken()})
	testkit.WantReason(t, err, pagetoken.ReasonInvalid)
	_, err = f.list(alice, &recordsv1.ListDocumentsRequest{PageToken: "not-a-token"})
	testkit.WantReason(t, err, pagetoken.ReasonInvalid)

	// A genuine token's filter and id with a time no row can have: before PostgreSQL's
	// range (it failed there, an INTERNAL error) or past what its driver can encode.
	raw, err := base64.RawURLEncoding.DecodeString(resp.GetNextPageToken())
	if err != nil {
		t.Fatal(err)
	}
	var c pagetoken.Cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	for _, micros := range []int64{-211813488000000000, math.MinInt64, math.MaxInt64} {
		forged := pagetoken.Encode(c.Filter, time.UnixMicro(micros), c.ID)
		_, err = f.list(alice, &recordsv1.ListDocumentsRequest{PageSize: 1, PageToken: forged})
		testkit.WantReason(t, err, pagetoken.ReasonInvalid)
	}
}

func TestUpdateDocument_ChangesOnlyTheMaskedFields(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.newPatient(), f.newPatient()
	g := f.mustGroup(alice, "Exames")
	bobs := f.mustGroup(bob, "Exames")
	doc := f.mustUpload(alice, meta("Hemograma", "application/pdf"), pdf(500))
	id := doc.GetId()

	got, err := f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, Title: "Hemograma 2024", Kind: image, UpdateMask: mask("title")})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetTitle() != "Hemograma 2024" || got.GetKind() != exam || got.GetGroupId() != "" {
		t.Errorf("after title update: %v", got)
	}
	got, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, Kind: rx, GroupId: g.GetId(), UpdateMask: mask("kind", "group_id")})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetTitle() != "Hemograma 2024" || got.GetKind() != rx || got.GetGroupId() != g.GetId() {
		t.Errorf("after kind+group update: %v", got)
	}
	got, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, UpdateMask: mask("group_id")})
	if err != nil || got.GetGroupId() != "" {
		t.Errorf("empty group_id must take it out of its group: %v %v", got, err)
	}
	// Paths by JSON name work too (AIP-161), as a REST client writes them.
	got, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, Title: "Hemograma 2024", GroupId: g.GetId(), UpdateMask: mask("groupId", "title")})
	if err != nil || got.GetGroupId() != g.GetId() {
		t.Errorf("mask by JSON name: %v %v", got, err)
	}
	got, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, UpdateMask: mask("group_id")})
	if err != nil || got.GetGroupId() != "" {
		t.Errorf("empty group_id must take it out of its group: %v %v", got, err)
	}
	if got.GetUpdateTime().AsTime().Before(doc.GetUpdateTime().AsTime()) {
		t.Errorf("update_time went back: %v → %v", doc.GetUpdateTime(), got.GetUpdateTime())
	}

	_, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, GroupId: bobs.GetId(), UpdateMask: mask("group_id")})
	testkit.WantReason(t, err, ReasonGroupNotFound)
	_, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, UpdateMask: mask("size_bytes")})
	testkit.WantReason(t, err, ReasonUpdateMaskInvalid)
	_, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, UpdateMask: mask()})
	testkit.WantReason(t, err, ReasonUpdateMaskInvalid)
	_, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, UpdateMask: mask("title")})
	testkit.WantReason(t, err, ReasonTitleRequired)
	_, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: id, UpdateMask: mask("kind")})
	testkit.WantReason(t, err, ReasonKindRequired)
}

func TestDeleteDocument_HidesTheDocumentButKeepsRowAndObject(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	keep := f.mustUpload(alice, meta("keep", "application/pdf"), pdf(500))
	gone := f.mustUpload(alice, meta("gone", "application/pdf"), pdf(500))
	if _, err := f.client.DeleteDocument(context.Background(), authed(&recordsv1.DeleteDocumentRequest{DocumentId: gone.GetId()}, alice.token)); err != nil {
		t.Fatal(err)
	}
	if got := f.listAll(alice, &recordsv1.ListDocumentsRequest{}); !slices.Equal(got, []string{keep.GetId()}) {
		t.Errorf("list after delete = %v, want only %s", got, keep.GetId())
	}
	_, err := f.client.GetDocument(context.Background(), authed(&recordsv1.GetDocumentRequest{DocumentId: gone.GetId()}, alice.token))
	testkit.WantReason(t, err, ReasonDocumentNotFound)
	_, _, err = f.download(alice, gone.GetId())
	testkit.WantReason(t, err, ReasonDocumentNotFound)
	_, err = f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: gone.GetId(), Title: "x", UpdateMask: mask("title")})
	testkit.WantReason(t, err, ReasonDocumentNotFound)
	_, err = f.client.DeleteDocument(context.Background(), authed(&recordsv1.DeleteDocumentRequest{DocumentId: gone.GetId()}, alice.token))
	testkit.WantReason(t, err, ReasonDocumentNotFound)

	if n := f.count(`SELECT count(*) FROM documents WHERE id = $1 AND deleted_at IS NOT NULL`, gone.GetId()); n != 1 {
		t.Errorf("the deleted row is gone (%d rows)", n)
	}
	head, err := f.blobs.Head(context.Background(), connect.NewRequest(&blobsv1.HeadRequest{Key: f.blobKey(gone.GetId())}))
	if err != nil || head.Msg.GetObject().GetSize() != sealedSize(500) {
		t.Errorf("the deleted document's object: %v %v", head, err)
	}
}

func TestGroups_NamesAreUniquePerPatientIgnoringCase(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.newPatient(), f.newPatient()
	exams := f.mustGroup(alice, "Exames 2024")
	_, err := f.createGroup(alice, "exames 2024")
	testkit.WantReason(t, err, ReasonGroupExists)
	f.mustGroup(bob, "Exames 2024") // another patient's names are no concern
	other := f.mustGroup(alice, "  Receitas ")
	if other.GetName() != "Receitas" {
		t.Errorf("name = %q, want it trimmed", other.GetName())
	}

	rename := func(u user, id, name string) (*recordsv1.Group, error) {
		resp, err := f.client.RenameGroup(context.Background(), authed(&recordsv1.RenameGroupRequest{GroupId: id, Name: name}, u.token))
		if err != nil {
			return nil, err
		}
		return resp.Msg.GetGroup(), nil
	}
	_, err = rename(alice, other.GetId(), "EXAMES 2024")
	testkit.WantReason(t, err, ReasonGroupExists)
	_, err = rename(bob, exams.GetId(), "mine now")
	testkit.WantReason(t, err, ReasonGroupNotFound)
	renamed, err := rename(alice, exams.GetId(), "Exames antigos")
	if err != nil || renamed.GetName() != "Exames antigos" || renamed.GetId() != exams.GetId() {
		t.Fatalf("rename: %v %v", renamed, err)
	}

	resp, err := f.client.ListGroups(context.Background(), authed(&recordsv1.ListGroupsRequest{}, alice.token))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range resp.Msg.GetGroups() {
		names = append(names, g.GetName())
	}
	if !slices.Equal(names, []string{"Exames antigos", "Receitas"}) {
		t.Errorf("alice's groups = %v", names)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
