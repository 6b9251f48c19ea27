package records

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

func mustInsertShare(t *testing.T, db pg.Querier, patientID, doctorID string, docs, groups []string, created, expires time.Time) *share {
	t.Helper()
	sh := &share{id: uuid.NewString(), patientID: patientID, doctorID: doctorID, documentIDs: docs, groupIDs: groups,
		createdAt: created, expiresAt: expires}
	if err := (shareStore{}).insert(context.Background(), db, sh); err != nil {
		t.Fatalf("insert share: %v", err)
	}
	return sh
}

func TestShareStore_InsertThenGetReadsTheGrantWithItsDocumentsAndGroups(t *testing.T) {
	db, ctx, shares := storeDB(t), context.Background(), shareStore{}
	alice, doctor := uuid.NewString(), uuid.NewString()
	var docIDs []string
	for range 3 {
		docIDs = append(docIDs, mustInsertDocument(t, db, testDocument(t, alice, "", storeTime)).id.String())
	}
	g := mustInsertGroup(t, db, alice, "Exames")
	sh := mustInsertShare(t, db, alice, doctor, docIDs, []string{g.id}, storeTime, storeTime.Add(24*time.Hour))

	got, err := shares.get(ctx, db, sh.id)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Sorted(slices.Values(docIDs))
	if got.id != sh.id || got.patientID != alice || got.doctorID != doctor || !slices.Equal(got.documentIDs, sorted) ||
		!slices.Equal(got.groupIDs, []string{g.id}) || !got.createdAt.Equal(storeTime) ||
		!got.expiresAt.Equal(storeTime.Add(24*time.Hour)) || got.revokedAt != nil {
		t.Errorf("got %+v, want %+v with its documents sorted", got, sh)
	}

	onlyGroup := mustInsertShare(t, db, alice, doctor, nil, []string{g.id}, storeTime, storeTime.Add(time.Hour))
	got, err = shares.get(ctx, db, onlyGroup.id)
	if err != nil {
		t.Fatal(err)
	}
	if got.documentIDs == nil || len(got.documentIDs) != 0 || !slices.Equal(got.groupIDs, []string{g.id}) {
		t.Errorf("a grant of a group only: documents %#v, groups %v", got.documentIDs, got.groupIDs)
	}
	if _, err := shares.get(ctx, db, uuid.NewString()); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("a missing share: %v, want pgx.ErrNoRows", err)
	}
	missing := &share{id: uuid.NewString(), patientID: alice, doctorID: doctor, documentIDs: []string{uuid.NewString()},
		createdAt: storeTime, expiresAt: storeTime.Add(time.Hour)}
	if err := shares.insert(ctx, db, missing); err == nil {
		t.Error("a grant of a document that does not exist was stored")
	}
}

func TestShareStore_RevokeEndsALiveGrantOnceAndLeavesEndedOnesAlone(t *testing.T) {
	db, ctx, shares := storeDB(t), context.Background(), shareStore{}
	alice, bob, doctor := uuid.NewString(), uuid.NewString(), uuid.NewString()
	doc := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime)).id.String()
	live := mustInsertShare(t, db, alice, doctor, []string{doc}, nil, storeTime, storeTime.Add(48*time.Hour))
	ended := mustInsertShare(t, db, alice, doctor, []string{doc}, nil, storeTime, storeTime.Add(time.Hour))

	at := storeTime.Add(2 * time.Hour)
	got, err := shares.revoke(ctx, db, alice, live.id, at)
	if err != nil {
		t.Fatal(err)
	}
	if got.id != live.id || got.revokedAt == nil || !got.revokedAt.Equal(at) || !slices.Equal(got.documentIDs, []string{doc}) {
		t.Errorf("revoked %+v, want revoked at %v", got, at)
	}
	again, err := shares.revoke(ctx, db, alice, live.id, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again.revokedAt == nil || !again.revokedAt.Equal(at) {
		t.Errorf("second revoke: revoked_at %v, want the first's %v", again.revokedAt, at)
	}
	stored, err := shares.get(ctx, db, live.id)
	if err != nil || stored.revokedAt == nil || !stored.revokedAt.Equal(at) {
		t.Errorf("stored revoked_at %v (%v), want %v", stored.revokedAt, err, at)
	}

	got, err = shares.revoke(ctx, db, alice, ended.id, at)
	if err != nil {
		t.Fatal(err)
	}
	if got.revokedAt != nil {
		t.Errorf("an expired grant was revoked at %v", got.revokedAt)
	}
	if _, err := shares.revoke(ctx, db, bob, ended.id, at); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("bob revokes alice's grant: %v, want pgx.ErrNoRows", err)
	}
}

func TestShareStore_ListByPatientIsNewestFirst(t *testing.T) {
	db, ctx, shares := storeDB(t), context.Background(), shareStore{}
	alice, bob, doctor := uuid.NewString(), uuid.NewString(), uuid.NewString()
	doc := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime)).id.String()
	var want []string
	for i := range 3 {
		at := storeTime.Add(time.Duration(i) * time.Minute)
		want = append(want, mustInsertShare(t, db, alice, doctor, []string{doc}, nil, at, at.Add(time.Hour)).id)
	}
	slices.Reverse(want)
	bobsDoc := mustInsertDocument(t, db, testDocument(t, bob, "", storeTime)).id.String()
	mustInsertShare(t, db, bob, doctor, []string{bobsDoc}, nil, storeTime, storeTime.Add(time.Hour))

	got, err := shares.listByPatient(ctx, db, alice)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, sh := range got {
		ids = append(ids, sh.id)
		if sh.patientID != alice || !slices.Equal(sh.documentIDs, []string{doc}) {
			t.Errorf("listed %+v", sh)
		}
	}
	if !slices.Equal(ids, want) {
		t.Errorf("alice's shares = %v, want %v", ids, want)
	}
}

func TestShareStore_DocumentForDoctorSaysHowTheGrantsStandAtTheInstant(t *testing.T) {
	db, ctx, shares := storeDB(t), context.Background(), shareStore{}
	alice := uuid.NewString()
	g := mustInsertGroup(t, db, alice, "Cardio")
	direct := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime))
	inGroup := mustInsertDocument(t, db, testDocument(t, alice, g.id, storeTime))
	hidden := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime))
	at := storeTime.Add(10 * time.Hour)

	liveDoctor, expiredDoctor, revokedDoctor, groupDoctor, neverDoctor, mixedDoctor :=
		uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	live := mustInsertShare(t, db, alice, liveDoctor, []string{direct.id.String(), hidden.id.String()}, nil, storeTime, at.Add(time.Hour))
	expired := mustInsertShare(t, db, alice, expiredDoctor, []string{direct.id.String()}, nil, storeTime, at)
	revoked := mustInsertShare(t, db, alice, revokedDoctor, []string{direct.id.String()}, nil, storeTime, at.Add(time.Hour))
	if _, err := shares.revoke(ctx, db, alice, revoked.id, storeTime.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	byGroup := mustInsertShare(t, db, alice, groupDoctor, nil, []string{g.id}, storeTime, at.Add(time.Hour))
	// An older grant still live, and a newer one revoked: the live one lets the doctor in.
	older := mustInsertShare(t, db, alice, mixedDoctor, []string{direct.id.String()}, nil, storeTime, at.Add(5*time.Hour))
	newer := mustInsertShare(t, db, alice, mixedDoctor, []string{direct.id.String()}, nil, storeTime.Add(time.Minute), at.Add(time.Hour))
	if _, err := shares.revoke(ctx, db, alice, newer.id, storeTime.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := (documentStore{}).hide(ctx, db, alice, hidden.id.String(), storeTime); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name   string
		doctor string
		doc    *document
		want   grantState
	}{
		{"live grant", liveDoctor, direct, grantState{live: live.id, latest: live.id}},
		{"expired at the instant", expiredDoctor, direct, grantState{latest: expired.id}},
		{"revoked", revokedDoctor, direct, grantState{latest: revoked.id, revoked: true}},
		{"through the group it is filed in", groupDoctor, inGroup, grantState{live: byGroup.id, latest: byGroup.id}},
		{"group not granting a document outside it", groupDoctor, direct, grantState{}},
		{"never granted", neverDoctor, direct, grantState{}},
		{"live older grant, revoked newer one", mixedDoctor, direct, grantState{live: older.id, latest: newer.id, revoked: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, g, err := shares.documentForDoctor(ctx, db, c.doctor, c.doc.id.String(), at)
			if err != nil {
				t.Fatal(err)
			}
			sameDocument(t, d, c.doc)
			if g != c.want {
				t.Errorf("grants = %+v, want %+v", g, c.want)
			}
		})
	}
	if _, _, err := shares.documentForDoctor(ctx, db, liveDoctor, hidden.id.String(), at); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("a hidden document: %v, want pgx.ErrNoRows", err)
	}
	if _, _, err := shares.documentForDoctor(ctx, db, liveDoctor, uuid.NewString(), at); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("a missing document: %v, want pgx.ErrNoRows", err)
	}
}

func TestShareStore_DocumentsForDoctorListsWhatLiveGrantsCoverWithTheLatestExpiry(t *testing.T) {
	db, ctx, shares := storeDB(t), context.Background(), shareStore{}
	alice, bob, doctor := uuid.NewString(), uuid.NewString(), uuid.NewString()
	g := mustInsertGroup(t, db, alice, "Cardio")
	a1 := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime))
	a2 := mustInsertDocument(t, db, testDocument(t, alice, g.id, storeTime.Add(time.Minute)))
	a3 := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime.Add(2*time.Minute)))    // revoked grant only
	a4 := mustInsertDocument(t, db, testDocument(t, alice, g.id, storeTime.Add(3*time.Minute)))  // hidden
	b1 := mustInsertDocument(t, db, testDocument(t, bob, "", storeTime.Add(4*time.Minute)))      // bob's
	other := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime.Add(5*time.Minute))) // granted to someone else
	at := storeTime.Add(10 * time.Hour)

	mustInsertShare(t, db, alice, doctor, []string{a1.id.String()}, nil, storeTime, at.Add(time.Hour))
	mustInsertShare(t, db, alice, doctor, []string{a1.id.String(), a2.id.String()}, nil, storeTime, at.Add(3*time.Hour))
	mustInsertShare(t, db, alice, doctor, nil, []string{g.id}, storeTime, at.Add(2*time.Hour))
	mustInsertShare(t, db, alice, doctor, []string{a1.id.String()}, nil, storeTime, at) // expired at the instant
	rv := mustInsertShare(t, db, alice, doctor, []string{a3.id.String()}, nil, storeTime, at.Add(time.Hour))
	if _, err := shares.revoke(ctx, db, alice, rv.id, storeTime); err != nil {
		t.Fatal(err)
	}
	if _, err := (documentStore{}).hide(ctx, db, alice, a4.id.String(), storeTime); err != nil {
		t.Fatal(err)
	}
	mustInsertShare(t, db, bob, doctor, []string{b1.id.String()}, nil, storeTime, at.Add(time.Hour))
	mustInsertShare(t, db, alice, uuid.NewString(), []string{other.id.String()}, nil, storeTime, at.Add(time.Hour))

	got, err := shares.documentsForDoctor(ctx, db, doctor, at)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		doc     *document
		expires time.Time
	}{{b1, at.Add(time.Hour)}, {a2, at.Add(3 * time.Hour)}, {a1, at.Add(3 * time.Hour)}}
	if len(got) != len(want) {
		t.Fatalf("listed %d documents, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		sameDocument(t, got[i].doc, w.doc)
		if !got[i].expiresAt.Equal(w.expires) {
			t.Errorf("document %d expires %v, want %v", i, got[i].expiresAt, w.expires)
		}
	}
}
