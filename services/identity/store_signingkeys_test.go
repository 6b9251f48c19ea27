package identity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/authn"
	"healthcore/platform/pg"
)

func newStoredKey(t *testing.T, created time.Time) storedKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return storedKey{KID: kidOf(pub), Alg: authn.AlgEdDSA, PublicKey: pub, Sealed: []byte("sealed " + kidOf(pub)), CreatedAt: created}
}

func TestSigningKeyStore_RotationKeepsOneActiveAndPublishesRecentlyRetired(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), signingKeyStore{}
	if _, ok, err := st.active(ctx, db); err != nil || ok {
		t.Fatalf("empty table: ok=%v err=%v", ok, err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rotate := func(k storedKey) {
		t.Helper()
		err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
			if err := st.lock(ctx, tx); err != nil {
				return err
			}
			if err := st.retireActive(ctx, tx, k.CreatedAt); err != nil {
				return err
			}
			return st.insert(ctx, tx, k)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	k1, k2, k3 := newStoredKey(t, t0), newStoredKey(t, t0.Add(time.Hour)), newStoredKey(t, t0.Add(2*time.Hour))
	rotate(k1)
	rotate(k2)
	rotate(k3)

	got, ok, err := st.active(ctx, db)
	if err != nil || !ok || got.KID != k3.KID || !bytes.Equal(got.PublicKey, k3.PublicKey) || got.Alg != k3.Alg ||
		string(got.Sealed) != string(k3.Sealed) || !got.CreatedAt.Equal(k3.CreatedAt) {
		t.Fatalf("active = %+v (ok=%v, err=%v), want %+v", got, ok, err, k3)
	}
	// A second active key is refused by the database itself.
	if err := st.insert(ctx, db, newStoredKey(t, t0)); !pg.IsUniqueViolation(err) {
		t.Errorf("second active key: %v, want a unique violation", err)
	}

	kids := func(retiredAfter time.Time) []string {
		t.Helper()
		keys, err := st.published(ctx, db, retiredAfter)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range keys {
			if len(k.PublicKey) != ed25519.PublicKeySize || k.Alg != authn.AlgEdDSA || k.Sealed != nil {
				t.Errorf("key %s: %s, %d bytes, sealed %x", k.KID, k.Alg, len(k.PublicKey), k.Sealed)
			}
			out = append(out, k.KID)
		}
		return out
	}
	// k1 retired at t0+1h, k2 at t0+2h.
	for _, c := range []struct {
		after time.Time
		want  []string
	}{
		{t0, []string{k3.KID, k2.KID, k1.KID}},
		{t0.Add(90 * time.Minute), []string{k3.KID, k2.KID}},
		{t0.Add(2 * time.Hour), []string{k3.KID}},
	} {
		if got := kids(c.after); !slices.Equal(got, c.want) {
			t.Errorf("published after %v = %v, want %v", c.after, got, c.want)
		}
	}
}
