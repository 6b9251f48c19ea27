package payments

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// TestMigration_JobsQueuedUnderTheFormerKindsTakeTheNewOnes runs migration 00002 down
// and up again on jobs queued under each kind, as a database migrated before the
// rename holds them, and checks every kind maps both ways and other rows are left be.
func TestMigration_JobsQueuedUnderTheFormerKindsTakeTheNewOnes(t *testing.T) {
	ctx := context.Background()
	db := storeDB(t)
	sqlDB := stdlib.OpenDBFromPool(db)
	t.Cleanup(func() { _ = sqlDB.Close() })
	store, err := database.NewStore(database.DialectPostgres, Schema.Name+".goose_db_version")
	if err != nil {
		t.Fatal(err)
	}
	migrator, err := goose.NewProvider(goose.DialectCustom, sqlDB, Schema.Migrations,
		goose.WithStore(store), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	renamed := map[string]string{ // former kind → kind
		"sync_charge":        syncChargeArgs{}.Kind(),
		"notify_scheduling":  notifyArgs{}.Kind(),
		"refund":             refundArgs{}.Kind(),
		"cancel_charge":      cancelChargeArgs{}.Kind(),
		"reconcile_payments": reconcileArgs{}.Kind(),
	}
	kinds := []string{"someone_elses"} // a kind that is not payments' stays as it is
	for _, k := range renamed {
		kinds = append(kinds, k)
	}
	ids := map[string]int64{} // kind at insert → job id
	for _, k := range kinds {
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO river_job (kind, max_attempts, args, state, scheduled_at)
			VALUES ($1, 25, '{}', 'scheduled', now() + interval '1 day') RETURNING id`, k).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[k] = id
	}
	kindOf := func(id int64) string {
		t.Helper()
		var k string
		if err := db.QueryRow(ctx, `SELECT kind FROM river_job WHERE id = $1`, id).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}

	if _, err := migrator.DownTo(ctx, 1); err != nil {
		t.Fatalf("down to 00001: %v", err)
	}
	for former, k := range renamed {
		if got := kindOf(ids[k]); got != former {
			t.Errorf("down: job of kind %s is now %s, want %s", k, got, former)
		}
	}
	if _, err := migrator.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	for _, k := range kinds {
		if got := kindOf(ids[k]); got != k {
			t.Errorf("up: job queued as %s is now %s, want %s", k, got, k)
		}
	}
}
