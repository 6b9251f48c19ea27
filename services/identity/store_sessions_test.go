package identity

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/pg"
)

func TestSessionStore_TokenLifecycle(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), sessionStore{}
	a := newAccountRow(accessv1.Role_ROLE_ADMIN, "ops@example.com")
	if err := (accountStore{}).insert(ctx, db, a, nil); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sid := uuid.NewString()
	if err := st.insert(ctx, db, sid, a.ID, amrPassword, t0, t0.Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.insertToken(ctx, db, hashToken("one"), sid, t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	lookup := func(token string) (rt refreshToken, ok bool) {
		t.Helper()
		err := pg.InTx(ctx, db, func(tx pgx.Tx) (err error) {
			rt, ok, err = st.tokenForUpdate(ctx, tx, hashToken(token))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return rt, ok
	}
	rt, ok := lookup("one")
	if !ok || rt.SessionID != sid || rt.AccountID != a.ID || !rt.Expires.Equal(t0.Add(time.Hour)) ||
		!rt.SessionEnd.Equal(t0.Add(30*24*time.Hour)) || rt.Used != nil || rt.Revoked != nil {
		t.Fatalf("token = %+v (ok=%v)", rt, ok)
	}
	if _, ok := lookup("unknown"); ok {
		t.Error("an unknown token was found")
	}

	if err := st.spendToken(ctx, db, hashToken("one"), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if rt, _ := lookup("one"); rt.Used == nil || !rt.Used.Equal(t0.Add(time.Minute)) {
		t.Errorf("used = %v, want %v", rt.Used, t0.Add(time.Minute))
	}
	if err := st.spendToken(ctx, db, hashToken("unknown"), t0); err == nil {
		t.Error("an unknown token was spent")
	}

	live := func() (string, string, bool) {
		t.Helper()
		var gotSID, gotAccount string
		var ok bool
		err := pg.InTx(ctx, db, func(tx pgx.Tx) (err error) {
			gotSID, gotAccount, ok, err = st.liveSessionForUpdate(ctx, tx, hashToken("one"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return gotSID, gotAccount, ok
	}
	if gotSID, gotAccount, ok := live(); !ok || gotSID != sid || gotAccount != a.ID {
		t.Errorf("live session = %s of %s (ok=%v)", gotSID, gotAccount, ok)
	}

	if err := st.end(ctx, db, sid, t0.Add(2*time.Minute), "logout"); err != nil {
		t.Fatal(err)
	}
	if err := st.end(ctx, db, sid, t0.Add(3*time.Minute), "refresh token reused"); err != nil {
		t.Fatal(err)
	}
	if rt, _ := lookup("one"); rt.Revoked == nil || !rt.Revoked.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("revoked = %v, want the first end", rt.Revoked)
	}
	var reason string
	if err := db.QueryRow(ctx, `SELECT revoke_reason FROM sessions WHERE id = $1`, sid).Scan(&reason); err != nil || reason != "logout" {
		t.Errorf("revoke reason = %q (%v), want logout", reason, err)
	}
	if _, _, ok := live(); ok {
		t.Error("an ended session is live")
	}
}

func TestSessionStore_EndedSinceListsOnlySessionsEndedAfterTheInstant(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), sessionStore{}
	a := newAccountRow(accessv1.Role_ROLE_ADMIN, "ops@example.com")
	if err := (accountStore{}).insert(ctx, db, a, nil); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sessions := map[string]time.Duration{} // by id, when it ends after t0 (negative: never)
	for _, end := range []time.Duration{-1, time.Minute, 5 * time.Minute, 20 * time.Minute} {
		sid := uuid.NewString()
		if err := st.insert(ctx, db, sid, a.ID, amrPassword, t0, t0.Add(30*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if end >= 0 {
			if err := st.end(ctx, db, sid, t0.Add(end), "logout"); err != nil {
				t.Fatal(err)
			}
		}
		sessions[sid] = end
	}

	got, err := st.endedSince(ctx, db, t0.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || sessions[got[0].ID] != 20*time.Minute || !got[0].Revoked.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("ended since t0+5m = %+v, want only the session ended at t0+20m", got)
	}
	if got, err := st.endedSince(ctx, db, t0); err != nil || len(got) != 3 ||
		!got[0].Revoked.Equal(t0.Add(time.Minute)) || !got[2].Revoked.Equal(t0.Add(20*time.Minute)) {
		t.Errorf("ended since t0 = %+v (%v), want the three ended sessions, oldest first", got, err)
	}
}
