package records

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

func TestGroupStore_InsertReturnsTheRowAndNamesAreUniquePerPatientIgnoringCase(t *testing.T) {
	db, ctx, groups := storeDB(t), context.Background(), groupStore{}
	alice, bob := uuid.NewString(), uuid.NewString()
	id := uuid.NewString()
	g, err := groups.insert(ctx, db, alice, id, "Exames 2024", storeTime)
	if err != nil {
		t.Fatal(err)
	}
	if g.id != id || g.name != "Exames 2024" || !g.createdAt.Equal(storeTime) || !g.updatedAt.Equal(storeTime) {
		t.Errorf("inserted %+v", g)
	}
	if _, err := groups.insert(ctx, db, alice, uuid.NewString(), "EXAMES 2024", storeTime); !errors.Is(err, errGroupExists) {
		t.Errorf("same name in other case: %v, want GROUP_EXISTS", err)
	}
	if _, err := groups.insert(ctx, db, bob, uuid.NewString(), "Exames 2024", storeTime); err != nil {
		t.Errorf("another patient's same name: %v", err)
	}
	if _, err := groups.insert(ctx, db, bob, id, "Outro", storeTime); err == nil || errors.Is(err, errGroupExists) {
		t.Errorf("a taken id: %v, want a plain database error", err)
	}
}

func TestGroupStore_RenameAndListByPatient(t *testing.T) {
	db, ctx, groups := storeDB(t), context.Background(), groupStore{}
	alice, bob := uuid.NewString(), uuid.NewString()
	exams := mustInsertGroup(t, db, alice, "exames")
	rx := mustInsertGroup(t, db, alice, "Receitas")
	mustInsertGroup(t, db, bob, "Bob's")

	later := storeTime.Add(time.Hour)
	g, err := groups.rename(ctx, db, alice, exams.id, "Zeta", later)
	if err != nil {
		t.Fatal(err)
	}
	if g.id != exams.id || g.name != "Zeta" || !g.createdAt.Equal(storeTime) || !g.updatedAt.Equal(later) {
		t.Errorf("renamed %+v", g)
	}
	if _, err := groups.rename(ctx, db, alice, exams.id, "receitas", later); !errors.Is(err, errGroupExists) {
		t.Errorf("rename to a name in use: %v, want GROUP_EXISTS", err)
	}
	if _, err := groups.rename(ctx, db, bob, exams.id, "mine", later); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("bob renames alice's group: %v, want pgx.ErrNoRows", err)
	}
	mustInsertGroup(t, db, alice, "alfa")

	got, err := groups.listByPatient(ctx, db, alice)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range got {
		names = append(names, g.name)
	}
	if want := []string{"alfa", "Receitas", "Zeta"}; len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Errorf("alice's groups = %v, want %v (by name ignoring case)", names, want)
	}
	if got[1].id != rx.id {
		t.Errorf("Receitas has id %s, want %s", got[1].id, rx.id)
	}
}

func TestGroupStore_ExistsAndLockForShareAnswerOnlyForTheOwner(t *testing.T) {
	db, ctx, groups := storeDB(t), context.Background(), groupStore{}
	alice, bob := uuid.NewString(), uuid.NewString()
	g := mustInsertGroup(t, db, alice, "Exames")
	for _, c := range []struct {
		patient, id string
		want        bool
	}{{alice, g.id, true}, {bob, g.id, false}, {alice, uuid.NewString(), false}} {
		ok, err := groups.exists(ctx, db, c.patient, c.id)
		if err != nil || ok != c.want {
			t.Errorf("exists(%s, %s) = %v %v, want %v", c.patient, c.id, ok, err, c.want)
		}
		err = groups.lockForShare(ctx, db, c.patient, c.id)
		if c.want && err != nil || !c.want && !errors.Is(err, pgx.ErrNoRows) {
			t.Errorf("lockForShare(%s, %s) = %v", c.patient, c.id, err)
		}
	}
}
