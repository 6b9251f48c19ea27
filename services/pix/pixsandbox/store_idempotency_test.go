package pixsandbox

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pgtest"
)

func TestKeyStore_ClaimOnceThenReadWhatItMade(t *testing.T) {
	db := pgtest.Pool(t, Schema.Name, Schema)
	ctx := context.Background()
	fp := []byte{1, 2, 3}
	if ok, err := idempotencyKeys.claim(ctx, db, "key-1", fp, "payment", 201); err != nil || !ok {
		t.Fatalf("first claim = %v, %v; want claimed", ok, err)
	}
	if err := idempotencyKeys.setResource(ctx, db, "key-1", 1320000007); err != nil {
		t.Fatal(err)
	}
	if ok, err := idempotencyKeys.claim(ctx, db, "key-1", []byte{9}, "refund", 200); err != nil || ok {
		t.Fatalf("second claim = %v, %v; want refused", ok, err)
	}
	u, err := idempotencyKeys.get(ctx, db, "key-1")
	if err != nil || !bytes.Equal(u.fingerprint, fp) || u.resourceID != 1320000007 || u.status != 201 {
		t.Errorf("get = %+v, %v; want the first claim's fingerprint, resource 1320000007 and 201", u, err)
	}
	if _, err := idempotencyKeys.get(ctx, db, "key-2"); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("unknown key: %v, want pgx.ErrNoRows", err)
	}
}
