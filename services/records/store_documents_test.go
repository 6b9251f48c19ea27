package records

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
)

// storeDB is a fresh records schema for the store tests.
func storeDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return pgtest.Pool(t, Schema.Name, Schema)
}

// storeTime is a fixed instant at the database's precision.
var storeTime = time.Date(2026, 3, 10, 14, 30, 15, 123456000, time.UTC)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// testDocument is a complete document row of patientID, created at created.
func testDocument(t *testing.T, patientID, groupID string, created time.Time) *document {
	t.Helper()
	return &document{
		id: uuid.New(), patientID: patientID, title: "Hemograma", kind: "exam", examDate: "2026-02-01",
		declared: "application/pdf", contentType: "application/pdf", size: 4321, sha256: randomBytes(t, 32),
		blobKey: "records/" + uuid.NewString(), dataKey: randomBytes(t, 40), chunkSize: chunkSize,
		noncePrefix: randomBytes(t, prefixSize), groupID: groupID, createdAt: created, updatedAt: created,
	}
}

func mustInsertDocument(t *testing.T, db pg.Querier, d *document) *document {
	t.Helper()
	if err := (documentStore{}).insert(context.Background(), db, d); err != nil {
		t.Fatalf("insert document: %v", err)
	}
	return d
}

func mustInsertGroup(t *testing.T, db pg.Querier, patientID, name string) *group {
	t.Helper()
	g, err := (groupStore{}).insert(context.Background(), db, patientID, uuid.NewString(), name, storeTime)
	if err != nil {
		t.Fatalf("insert group %q: %v", name, err)
	}
	return g
}

// sameDocument fails unless got holds every field of want.
func sameDocument(t *testing.T, got, want *document) {
	t.Helper()
	if got.id != want.id || got.patientID != want.patientID || got.title != want.title || got.kind != want.kind ||
		got.examDate != want.examDate || got.declared != want.declared || got.contentType != want.contentType ||
		got.size != want.size || !slices.Equal(got.sha256, want.sha256) || got.blobKey != want.blobKey ||
		!slices.Equal(got.dataKey, want.dataKey) || got.chunkSize != want.chunkSize ||
		!slices.Equal(got.noncePrefix, want.noncePrefix) || got.groupID != want.groupID ||
		!got.createdAt.Equal(want.createdAt) || !got.updatedAt.Equal(want.updatedAt) {
		t.Errorf("document\n got  %+v\n want %+v", got, want)
	}
}

func TestDocumentStore_InsertThenGetOwnReadsEveryField(t *testing.T) {
	db, ctx, docs := storeDB(t), context.Background(), documentStore{}
	alice, bob := uuid.NewString(), uuid.NewString()
	g := mustInsertGroup(t, db, alice, "Exames")
	want := mustInsertDocument(t, db, testDocument(t, alice, g.id, storeTime))
	plain := testDocument(t, alice, "", storeTime.Add(time.Second))
	plain.examDate = ""
	mustInsertDocument(t, db, plain)

	got, err := docs.getOwn(ctx, db, alice, want.id.String())
	if err != nil {
		t.Fatal(err)
	}
	sameDocument(t, got, want)
	got, err = docs.getOwn(ctx, db, alice, plain.id.String())
	if err != nil {
		t.Fatal(err)
	}
	sameDocument(t, got, plain) // no exam date, no group: both ""

	if _, err := docs.getOwn(ctx, db, bob, want.id.String()); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("another patient's document: %v, want pgx.ErrNoRows", err)
	}
	if _, err := docs.getOwn(ctx, db, alice, uuid.NewString()); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("a missing document: %v, want pgx.ErrNoRows", err)
	}
}

func TestDocumentStore_InsertIntoAnotherPatientsGroupIsGroupNotFound(t *testing.T) {
	db := storeDB(t)
	alice, bob := uuid.NewString(), uuid.NewString()
	bobs := mustInsertGroup(t, db, bob, "Exames")
	err := (documentStore{}).insert(context.Background(), db, testDocument(t, alice, bobs.id, storeTime))
	if !errors.Is(err, errGroupNotFound) {
		t.Fatalf("insert into bob's group: %v, want GROUP_NOT_FOUND", err)
	}
}

func TestDocumentStore_HideHidesOnceAndOnlyTheOwnersDocument(t *testing.T) {
	db, ctx, docs := storeDB(t), context.Background(), documentStore{}
	alice, bob := uuid.NewString(), uuid.NewString()
	d := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime))
	id := d.id.String()

	if hidden, err := docs.hide(ctx, db, bob, id, storeTime); err != nil || hidden {
		t.Fatalf("bob hides alice's document: %v %v", hidden, err)
	}
	if hidden, err := docs.hide(ctx, db, alice, id, storeTime.Add(time.Hour)); err != nil || !hidden {
		t.Fatalf("alice hides her document: %v %v", hidden, err)
	}
	if hidden, err := docs.hide(ctx, db, alice, id, storeTime.Add(2*time.Hour)); err != nil || hidden {
		t.Fatalf("hiding it again: %v %v, want false", hidden, err)
	}
	if _, err := docs.getOwn(ctx, db, alice, id); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("a hidden document is read: %v", err)
	}
	var deletedAt time.Time
	if err := db.QueryRow(ctx, `SELECT deleted_at FROM documents WHERE id = $1`, id).Scan(&deletedAt); err != nil {
		t.Fatal(err)
	}
	if !deletedAt.Equal(storeTime.Add(time.Hour)) {
		t.Errorf("deleted_at = %v, want the first hide's %v (the row stays)", deletedAt, storeTime.Add(time.Hour))
	}
}

func TestDocumentStore_UpdateChangesOnlyTheNamedFields(t *testing.T) {
	db, ctx, docs := storeDB(t), context.Background(), documentStore{}
	alice, bob := uuid.NewString(), uuid.NewString()
	g := mustInsertGroup(t, db, alice, "Exames")
	bobs := mustInsertGroup(t, db, bob, "Exames")
	d := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime))
	id := d.id.String()
	str := func(s string) *string { return &s }

	at := storeTime.Add(time.Minute)
	got, err := docs.update(ctx, db, id, documentChange{title: str("Laudo")}, at)
	if err != nil {
		t.Fatal(err)
	}
	want := *d
	want.title, want.updatedAt = "Laudo", at
	sameDocument(t, got, &want)

	at = at.Add(time.Minute)
	got, err = docs.update(ctx, db, id, documentChange{kind: str("report"), groupID: str(g.id)}, at)
	if err != nil {
		t.Fatal(err)
	}
	want.kind, want.groupID, want.updatedAt = "report", g.id, at
	sameDocument(t, got, &want)

	at = at.Add(time.Minute)
	got, err = docs.update(ctx, db, id, documentChange{groupID: str("")}, at)
	if err != nil {
		t.Fatal(err)
	}
	want.groupID, want.updatedAt = "", at
	sameDocument(t, got, &want)
	read, err := docs.getOwn(ctx, db, alice, id)
	if err != nil {
		t.Fatal(err)
	}
	sameDocument(t, read, &want)

	if _, err := docs.update(ctx, db, id, documentChange{groupID: str(bobs.id)}, at); !errors.Is(err, errGroupNotFound) {
		t.Errorf("update into bob's group: %v, want GROUP_NOT_FOUND", err)
	}
}

func TestDocumentStore_ListFiltersAndPagesNewestFirst(t *testing.T) {
	db, ctx, docs := storeDB(t), context.Background(), documentStore{}
	alice, bob := uuid.NewString(), uuid.NewString()
	g := mustInsertGroup(t, db, alice, "Exames")
	var all []*document // oldest first
	for i := range 6 {
		d := testDocument(t, alice, "", storeTime.Add(time.Duration(i)*time.Minute))
		if i%2 == 0 {
			d.groupID = g.id
		}
		if i%3 == 0 {
			d.kind = "image"
		}
		all = append(all, mustInsertDocument(t, db, d))
	}
	mustInsertDocument(t, db, testDocument(t, bob, "", storeTime))
	hidden := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime.Add(time.Hour)))
	if _, err := docs.hide(ctx, db, alice, hidden.id.String(), storeTime); err != nil {
		t.Fatal(err)
	}
	ids := func(ds []*document) []uuid.UUID {
		var out []uuid.UUID
		for _, d := range ds {
			out = append(out, d.id)
		}
		return out
	}
	list := func(f documentFilter) []uuid.UUID {
		t.Helper()
		got, err := docs.list(ctx, db, f)
		if err != nil {
			t.Fatal(err)
		}
		return ids(got)
	}
	rev := func(ds ...*document) []uuid.UUID { out := ids(ds); slices.Reverse(out); return out }

	if got, want := list(documentFilter{patientID: alice, limit: 100}), rev(all...); !slices.Equal(got, want) {
		t.Errorf("all = %v, want %v", got, want)
	}
	if got, want := list(documentFilter{patientID: alice, kind: "image", limit: 100}), rev(all[0], all[3]); !slices.Equal(got, want) {
		t.Errorf("images = %v, want %v", got, want)
	}
	if got, want := list(documentFilter{patientID: alice, groupID: g.id, limit: 100}), rev(all[0], all[2], all[4]); !slices.Equal(got, want) {
		t.Errorf("group = %v, want %v", got, want)
	}
	if got, want := list(documentFilter{patientID: alice, kind: "image", groupID: g.id, limit: 100}), rev(all[0]); !slices.Equal(got, want) {
		t.Errorf("images in the group = %v, want %v", got, want)
	}
	if got, want := list(documentFilter{patientID: alice, limit: 2}), rev(all[4], all[5]); !slices.Equal(got, want) {
		t.Errorf("first two = %v, want %v", got, want)
	}
	after := &pagetoken.Cursor{Micros: all[4].createdAt.UnixMicro(), ID: all[4].id.String()}
	if got, want := list(documentFilter{patientID: alice, after: after, limit: 2}), rev(all[2], all[3]); !slices.Equal(got, want) {
		t.Errorf("after the fifth = %v, want %v", got, want)
	}
}

func TestDocumentStore_ListBreaksTiesByID(t *testing.T) {
	db, ctx, docs := storeDB(t), context.Background(), documentStore{}
	alice := uuid.NewString()
	var same []string
	for range 4 {
		same = append(same, mustInsertDocument(t, db, testDocument(t, alice, "", storeTime)).id.String())
	}
	slices.Sort(same)
	slices.Reverse(same)
	var got []string
	var after *pagetoken.Cursor
	for {
		page, err := docs.list(ctx, db, documentFilter{patientID: alice, after: after, limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page[0].id.String())
		after = &pagetoken.Cursor{Micros: page[0].createdAt.UnixMicro(), ID: page[0].id.String()}
	}
	if !slices.Equal(got, same) {
		t.Errorf("pages of one = %v, want %v", got, same)
	}
}

// wantLockTimeout fails unless f, run on its own connection with a short lock
// timeout, waits for a lock and gives up.
func wantLockTimeout(t *testing.T, db *pgxpool.Pool, what string, f func(tx pgx.Tx) error) {
	t.Helper()
	err := pg.InTx(context.Background(), db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `SET LOCAL lock_timeout = '100ms'`); err != nil {
			return err
		}
		return f(tx)
	})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "55P03" {
		t.Errorf("%s: %v, want it to wait for the lock (55P03)", what, err)
	}
}

func TestDocumentStore_LocksHoldUntilTheTransactionEnds(t *testing.T) {
	db, ctx, docs := storeDB(t), context.Background(), documentStore{}
	alice := uuid.NewString()
	d := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime))
	id := d.id.String()
	hide := func(tx pgx.Tx) error { _, err := docs.hide(ctx, tx, alice, id, storeTime); return err }

	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		got, err := docs.getOwnForUpdate(ctx, tx, alice, id)
		if err != nil {
			return err
		}
		sameDocument(t, got, d)
		wantLockTimeout(t, db, "hide while read for update", hide)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = pg.InTx(ctx, db, func(tx pgx.Tx) error {
		if err := docs.lockOwnForShare(ctx, tx, alice, id); err != nil {
			return err
		}
		wantLockTimeout(t, db, "hide while locked for share", hide)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := docs.hide(ctx, db, alice, id, storeTime); err != nil {
		t.Fatal(err)
	}
	if err := docs.lockOwnForShare(ctx, db, alice, id); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("lock a hidden document: %v, want pgx.ErrNoRows", err)
	}
	if _, err := docs.getOwnForUpdate(ctx, db, alice, id); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("read a hidden document for update: %v, want pgx.ErrNoRows", err)
	}
	other := mustInsertDocument(t, db, testDocument(t, alice, "", storeTime))
	if err := docs.lockOwnForShare(ctx, db, uuid.NewString(), other.id.String()); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("lock another patient's document: %v, want pgx.ErrNoRows", err)
	}
}
