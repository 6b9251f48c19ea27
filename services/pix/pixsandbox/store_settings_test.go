package pixsandbox

import (
	"context"
	"testing"

	"healthcore/platform/pgtest"
)

func TestSettingStore_FirstValueStoredWins(t *testing.T) {
	db := pgtest.Pool(t, Schema.Name, Schema)
	ctx := context.Background()
	if v, err := settings.getOrPut(ctx, db, "access_token", "first"); err != nil || v != "first" {
		t.Fatalf("first getOrPut = %q, %v; want first", v, err)
	}
	if v, err := settings.getOrPut(ctx, db, "access_token", "second"); err != nil || v != "first" {
		t.Errorf("second getOrPut = %q, %v; want the stored first", v, err)
	}
	if v, err := settings.getOrPut(ctx, db, "webhook_secret", "other"); err != nil || v != "other" {
		t.Errorf("another name = %q, %v; want other", v, err)
	}
}
