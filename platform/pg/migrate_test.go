package pg

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"
)

// versions returns the applied versions recorded in schema's goose table.
func versions(t *testing.T, u, schema string) []int64 {
	t.Helper()
	ctx := context.Background()
	pool, err := Open(ctx, u, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows, err := pool.Query(ctx, "SELECT version_id FROM "+schema+".goose_db_version WHERE is_applied ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantVersions(t *testing.T, got []int64, want ...int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("versions = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("versions = %v, want %v", got, want)
		}
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	u := emptyDatabase(t)
	for range 3 {
		if err := Migrate(ctx, u, nil, testSchema("clinic")); err != nil {
			t.Fatal(err)
		}
	}
	wantVersions(t, versions(t, u, "clinic"), 0, 1, 2)

	pool, err := Open(ctx, u, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var inSchema, inPublic, notes *string
	err = pool.QueryRow(ctx, `SELECT to_regclass('clinic.goose_db_version')::text,
		to_regclass('public.goose_db_version')::text, to_regclass('clinic.notes')::text`).Scan(&inSchema, &inPublic, &notes)
	if err != nil {
		t.Fatal(err)
	}
	if inSchema == nil || inPublic != nil || notes == nil {
		t.Errorf("clinic.goose_db_version=%v public.goose_db_version=%v clinic.notes=%v; want the version table and tables in the schema only", inSchema, inPublic, notes)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	u := emptyDatabase(t)
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() { errs[i] = Migrate(ctx, u, nil, testSchema("clinic"), testSchema("ward")) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	wantVersions(t, versions(t, u, "clinic"), 0, 1, 2)
	wantVersions(t, versions(t, u, "ward"), 0, 1, 2)
}

func TestMigrateAppliesOnlyNewVersions(t *testing.T) {
	ctx := context.Background()
	u := emptyDatabase(t)
	first := fstest.MapFS{"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n")}}
	if err := Migrate(ctx, u, nil, Schema{Name: "svc", Migrations: first}); err != nil {
		t.Fatal(err)
	}
	second := fstest.MapFS{
		"00001_a.sql": first["00001_a.sql"],
		"00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (id int);\n-- +goose Down\nDROP TABLE b;\n")},
	}
	if err := Migrate(ctx, u, nil, Schema{Name: "svc", Migrations: second}); err != nil {
		t.Fatal(err)
	}
	wantVersions(t, versions(t, u, "svc"), 0, 1, 2)

	// A schema without migrations is only created.
	if err := Migrate(ctx, u, nil, Schema{Name: "bare"}, Schema{Name: "none", Migrations: fstest.MapFS{}}); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, u, nil, Schema{Name: "bad;name"}); err == nil {
		t.Error("Migrate accepted an invalid schema name")
	}
	bad := fstest.MapFS{"00001_x.sql": {Data: []byte("-- +goose Up\nCREATE TABLE nope (;\n")}}
	if err := Migrate(ctx, u, nil, Schema{Name: "broken", Migrations: bad}); err == nil {
		t.Error("Migrate succeeded with a broken migration")
	}
}

// Services migrating a fresh database at once may each create the same extension:
// CREATE EXTENSION IF NOT EXISTS alone collides on pg_extension's unique index when
// another transaction has created it and not yet committed (the sleep holds that
// window open), so pending migrations take a database-wide lock.
func TestMigrateConcurrently_SchemasCreatingTheSameExtension(t *testing.T) {
	ctx := context.Background()
	u := emptyDatabase(t)
	ext := fstest.MapFS{"00001_ext.sql": {Data: []byte("-- +goose Up\nCREATE EXTENSION IF NOT EXISTS btree_gist;\nSELECT pg_sleep(0.3);\n" +
		"CREATE TABLE spans (id int, during tstzrange, EXCLUDE USING gist (id WITH =, during WITH &&));\n-- +goose Down\nDROP TABLE spans;\n")}}
	names := []string{"scheduling_a", "directory_b", "clinic_c", "ward_d"}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { errs[i] = Migrate(ctx, u, nil, Schema{Name: name, Migrations: ext}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("schema %s: %v", names[i], err)
		}
	}
	for _, name := range names {
		wantVersions(t, versions(t, u, name), 0, 1)
	}
}
