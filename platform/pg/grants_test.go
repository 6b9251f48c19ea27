package pg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"healthcore/platform/jobs"
)

// withUser returns connURL logging in as user (trusted locally, so no password).
func withUser(t *testing.T, connURL, user string) string {
	t.Helper()
	if !strings.HasPrefix(connURL, "postgres://") && !strings.HasPrefix(connURL, "postgresql://") {
		return connURL + " user=" + user
	}
	u, err := url.Parse(connURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

// wantDenied fails unless err is PostgreSQL's insufficient_privilege (42501).
func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Errorf("%s: got %v, want permission denied (42501)", what, err)
	}
}

// dropRolesLater removes roles (and what they own or were granted in the database at
// dbURL) when the test ends: roles are cluster-wide and outlive the test's database.
func dropRolesLater(t *testing.T, dbURL string, roles ...string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Errorf("drop roles: %v", err)
			return
		}
		defer conn.Close(ctx)
		var existing []string
		for _, r := range roles {
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", r).Scan(&n); err == nil && n == 1 {
				existing = append(existing, ident(r))
			}
		}
		if len(existing) == 0 {
			return
		}
		list := strings.Join(existing, ", ")
		for _, stmt := range []string{"REASSIGN OWNED BY " + list + " TO CURRENT_USER", "DROP OWNED BY " + list, "DROP ROLE " + list} {
			if _, err := conn.Exec(ctx, stmt); err != nil {
				t.Errorf("%s: %v", stmt, err)
			}
		}
	})
}

// logRecorder keeps the text of every record logged to it.
type logRecorder struct {
	mu   *sync.Mutex
	seen *[]string
}

func (h logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h logRecorder) WithGroup(string) slog.Handler            { return h }
func (h logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	*h.seen = append(*h.seen, b.String())
	h.mu.Unlock()
	return nil
}

type probeArgs struct{ Note string }

func (probeArgs) Kind() string { return "pgtest.probe" }

type probeWorker struct {
	river.WorkerDefaults[probeArgs]
	done chan string
}

func (w *probeWorker) Work(_ context.Context, job *river.Job[probeArgs]) error {
	w.done <- job.Args.Note
	return nil
}

func TestGrantsConfineEachServiceToItsSchema(t *testing.T) {
	ctx := context.Background()
	dbURL := emptyDatabase(t)
	suffix := randomName("")
	owner := "hc_owner_" + suffix
	// clinic's migrations also create an extension PostgreSQL lets only superusers
	// create, so only the grants make the owner's migrations possible.
	clinicMigrations := migrationsWith(t, map[string]string{"00003_places.sql": `-- +goose Up
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
CREATE TABLE places (id bigserial PRIMARY KEY, at earth NOT NULL);
-- +goose Down
DROP TABLE places;
`})
	clinic := Schema{Name: "clinic_" + suffix, Migrations: clinicMigrations, Jobs: true}
	ward := Schema{Name: "ward_" + suffix, Migrations: os.DirFS("testdata/migrations")}
	clinicApp := "hc_clinic_app_" + suffix // the login user of clinic's service
	dropRolesLater(t, dbURL, clinicApp, Role(clinic.Name), Role(ward.Name), owner)

	grants, err := Grants(owner, []Schema{clinic, ward})
	if err != nil {
		t.Fatal(err)
	}
	admin := adminConnTo(t, dbURL)
	// Before the first migration, and again after: running it twice changes nothing.
	if _, err := admin.Exec(ctx, grants); err != nil {
		t.Fatalf("grants: %v\n%s", err, grants)
	}
	if _, err := admin.Exec(ctx, "CREATE ROLE "+ident(clinicApp)+" LOGIN IN ROLE "+ident(Role(clinic.Name))); err != nil {
		t.Fatal(err)
	}

	// The owner migrates clinic; a superuser migrates ward, acting as its owner.
	if err := Migrate(ctx, withUser(t, dbURL, owner), nil, clinic); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, dbURL, nil, ward); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, grants); err != nil {
		t.Fatalf("grants, run again: %v", err)
	}
	var strays []string
	rows, _ := admin.Query(ctx, `SELECT n.nspname || '.' || c.relname || ' owned by ' || pg_get_userbyid(c.relowner)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ($1, $2) AND c.relowner <> $3::regrole ORDER BY 1`, clinic.Name, ward.Name, owner)
	if strays, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(strays) > 0 {
		t.Errorf("objects not owned by %s: %v", owner, strays)
	}

	// Clinic's service, as its login user.
	db, err := Open(ctx, withUser(t, dbURL, clinicApp), clinic.Name, 6)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)

	var patientID, noteID int64
	if err := db.QueryRow(ctx, "INSERT INTO patients (name) VALUES ('Ana') RETURNING id").Scan(&patientID); err != nil {
		t.Fatalf("insert into its own table: %v", err)
	}
	if err := db.QueryRow(ctx, "INSERT INTO notes (patient_id, body) VALUES ($1, 'febre') RETURNING id", patientID).Scan(&noteID); err != nil {
		t.Fatalf("insert into its own table: %v", err)
	}
	if _, err := db.Exec(ctx, "UPDATE notes SET body = 'febre alta' WHERE id = $1", noteID); err != nil {
		t.Fatalf("update its own table: %v", err)
	}
	var name, body string
	err = db.QueryRow(ctx, "SELECT p.name, n.body FROM notes n JOIN patients p ON p.id = n.patient_id WHERE n.id = $1", noteID).Scan(&name, &body)
	if err != nil {
		t.Fatalf("select from its own tables: %v", err)
	}
	if name != "Ana" || body != "febre alta" {
		t.Errorf("read back %q, %q; want Ana, febre alta", name, body)
	}
	if tag, err := db.Exec(ctx, "DELETE FROM notes WHERE id = $1", noteID); err != nil || tag.RowsAffected() != 1 {
		t.Errorf("delete from its own table: %v, %d rows", err, tag.RowsAffected())
	}

	// The extension's types and functions, in its own schema.
	var km float64
	err = db.QueryRow(ctx, `WITH sp AS (INSERT INTO places (at) VALUES (ll_to_earth(-23.55, -46.63)) RETURNING at)
		SELECT earth_distance(at, ll_to_earth(-22.91, -43.17)) / 1000 FROM sp`).Scan(&km)
	if err != nil || km < 350 || km > 370 {
		t.Errorf("São Paulo to Rio through the extension: %.0f km, %v; want about 360 km", km, err)
	}

	// A table (with a serial sequence) that a later migration of the owner adds.
	ownerConn := adminConnTo(t, withUser(t, dbURL, owner))
	if _, err := ownerConn.Exec(ctx, "CREATE TABLE "+ident(clinic.Name)+".later (id bigserial PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	var laterID int64
	if err := db.QueryRow(ctx, "INSERT INTO later (v) VALUES ('x') RETURNING id").Scan(&laterID); err != nil || laterID != 1 {
		t.Errorf("insert into a table created later by the owner: id %d, %v", laterID, err)
	}

	// Nothing on the other service's schema, no DDL, no TRUNCATE.
	var n int
	wantDenied(t, "SELECT from another service's table",
		db.QueryRow(ctx, "SELECT count(*) FROM "+ident(ward.Name)+".patients").Scan(&n))
	_, err = db.Exec(ctx, "INSERT INTO "+ident(ward.Name)+".patients (name) VALUES ('Bia')")
	wantDenied(t, "INSERT into another service's table", err)
	for what, stmt := range map[string]string{
		"CREATE TABLE in its own schema": "CREATE TABLE mine (v int)",
		"CREATE TABLE in public":         "CREATE TABLE public.mine (v int)",
		"CREATE SCHEMA":                  "CREATE SCHEMA mine",
		"TRUNCATE its own table":         "TRUNCATE notes",
		"DROP its own table":             "DROP TABLE notes",
		"ALTER its own table":            "ALTER TABLE patients ADD COLUMN cpf text",
		"CREATE TRIGGER on its own table": "CREATE TRIGGER t BEFORE INSERT ON patients " +
			"FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
	} {
		_, err := db.Exec(ctx, stmt)
		wantDenied(t, what, err)
	}

	// With nothing pending, its own Migrate at start succeeds (it only reads); with a
	// migration pending it is refused, and nothing is created.
	if err := Migrate(ctx, withUser(t, dbURL, clinicApp), nil, clinic); err != nil {
		t.Errorf("Migrate as the service with nothing pending: %v", err)
	}
	pending := migrationsWith(t, map[string]string{"00004_more.sql": "-- +goose Up\nCREATE TABLE more (v int);\n-- +goose Down\nDROP TABLE more;\n"})
	pending["00003_places.sql"] = clinicMigrations["00003_places.sql"]
	err = Migrate(ctx, withUser(t, dbURL, clinicApp), nil, Schema{Name: clinic.Name, Migrations: pending})
	wantDenied(t, "Migrate as the service with a migration pending", err)

	// River, under the service's role: a job is inserted in a transaction and worked.
	var logMu sync.Mutex
	var logged []string
	workers := river.NewWorkers()
	w := &probeWorker{done: make(chan string, 1)}
	river.AddWorker(workers, w)
	jc, err := jobs.New(db, clinic.Name, workers, slog.New(logRecorder{mu: &logMu, seen: &logged}),
		jobs.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- jobs.Run(runCtx, jc) }()
	var jobID int64
	err = InTx(ctx, db, func(tx pgx.Tx) error {
		res, err := jc.InsertTx(ctx, tx, probeArgs{Note: "under the service role"}, nil)
		if err == nil {
			jobID = res.Job.ID
		}
		return err
	})
	if err != nil {
		t.Fatalf("insert a job as the service: %v", err)
	}
	select {
	case got := <-w.done:
		if got != "under the service role" {
			t.Errorf("worked %q", got)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the job was not worked within 15 s under the service's role")
	}
	state := waitJobCompleted(t, db, jobID)
	time.Sleep(500 * time.Millisecond) // let the leader's maintenance run a round
	stop()
	if err := <-stopped; err != nil {
		t.Errorf("jobs.Run: %v", err)
	}
	if state != "completed" {
		t.Errorf("job state %q, want completed", state)
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, l := range logged {
		if strings.Contains(l, "42501") || strings.Contains(l, "permission denied") {
			t.Errorf("River was refused a right: %s", l)
		}
	}
}

// migrationsWith returns the test migrations plus extra files.
func migrationsWith(t *testing.T, extra map[string]string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	for _, f := range []string{"00001_patients.sql", "00002_notes.sql"} {
		b, err := os.ReadFile("testdata/migrations/" + f)
		if err != nil {
			t.Fatal(err)
		}
		m[f] = &fstest.MapFile{Data: b}
	}
	for f, text := range extra {
		m[f] = &fstest.MapFile{Data: []byte(text)}
	}
	return m
}

// waitJobCompleted polls a job's state until it is completed or 5 s have passed.
func waitJobCompleted(t *testing.T, db *pgxpool.Pool, id int64) string {
	t.Helper()
	var state string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := db.QueryRow(context.Background(), "SELECT state::text FROM river_job WHERE id = $1", id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "completed" {
			break
		}
	}
	return state
}

// adminConnTo connects to connURL, closed when the test ends.
func adminConnTo(t *testing.T, connURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), connURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestGrantsRefusesBadNames(t *testing.T) {
	ok := Schema{Name: "clinic"}
	for _, c := range []struct {
		owner   string
		schemas []Schema
	}{
		{"", []Schema{ok}},
		{"Owner", []Schema{ok}},
		{"pg_owner", []Schema{ok}},
		{"a; DROP", []Schema{ok}},
		{"healthcore_clinic", []Schema{ok}},
		{"owner", []Schema{{Name: "Bad"}}},
		{"owner", []Schema{{Name: strings.Repeat("s", 60)}}}, // its role would pass 63 bytes
	} {
		if _, err := Grants(c.owner, c.schemas); err == nil {
			t.Errorf("Grants(%q, %v) accepted", c.owner, c.schemas)
		}
	}
}

func TestGrantsText(t *testing.T) {
	migrations := fstest.MapFS{
		"00001_a.sql": {Data: []byte("-- +goose Up\n-- CREATE EXTENSION commented_out;\nCREATE EXTENSION IF NOT EXISTS btree_gist;\n" +
			"CREATE TABLE t (v int); -- no CREATE EXTENSION here\n-- +goose Down\nDROP EXTENSION btree_gist;\nCREATE EXTENSION down_only;\n")},
		"00002_b.sql": {Data: []byte("-- +goose Up\ncreate extension \"uuid-ossp\";\nCREATE EXTENSION btree_gist;\n")},
	}
	sql, err := Grants("healthcore_owner", []Schema{{Name: "scheduling", Migrations: migrations, Jobs: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
		`GRANT USAGE ON SCHEMA "scheduling" TO "healthcore_scheduling";`,
		`CREATE EXTENSION IF NOT EXISTS "btree_gist" SCHEMA "scheduling" CASCADE;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" SCHEMA "scheduling" CASCADE;
REVOKE ALL`,
		`ALTER DEFAULT PRIVILEGES FOR ROLE "healthcore_owner" IN SCHEMA "scheduling" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "healthcore_scheduling";`,
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("grants lack %q:\n%s", want, sql)
		}
	}
	if strings.Count(sql, "CREATE EXTENSION") != 2 {
		t.Errorf("want btree_gist and uuid-ossp created once each, nothing commented out or of a Down section:\n%s", sql)
	}
	if strings.Contains(sql, "TRUNCATE ON") || strings.Contains(sql, "GRANT ALL") || strings.Contains(sql, "GRANT CREATE ON SCHEMA") {
		t.Errorf("grants give more than they should:\n%s", sql)
	}
}
