package pgtest

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

var (
	alpha = pg.Schema{Name: "alpha", Migrations: os.DirFS("testdata/alpha")}
	beta  = pg.Schema{Name: "beta", Migrations: os.DirFS("testdata/beta")}
)

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func count(t *testing.T, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := q.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestClonesAreIndependent(t *testing.T) {
	t.Parallel()
	u1, u2 := URL(t, alpha), URL(t, alpha)
	if u1 == u2 {
		t.Fatalf("two tests got the same database %s", u1)
	}
	c1, c2 := connect(t, u1), connect(t, u2)
	if _, err := c1.Exec(context.Background(), "INSERT INTO alpha.accounts (email) VALUES ('ana@example.com')"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, c1, "SELECT count(*) FROM alpha.accounts"); n != 1 {
		t.Errorf("first clone has %d accounts, want 1", n)
	}
	if n := count(t, c2, "SELECT count(*) FROM alpha.accounts"); n != 0 {
		t.Errorf("second clone sees %d accounts, want 0", n)
	}
}

func TestCloneHasMigratedTables(t *testing.T) {
	t.Parallel()
	pool := Pool(t, "alpha", alpha, beta)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "INSERT INTO accounts (email) VALUES ('bia@example.com')"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "SELECT count(*) FROM sessions"); n != 0 {
		t.Errorf("sessions has %d rows", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM beta.slots"); n != 0 {
		t.Errorf("beta.slots has %d rows", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM alpha.goose_db_version WHERE is_applied AND version_id > 0"); n != 2 {
		t.Errorf("alpha has %d applied migrations, want 2", n)
	}
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil || schema != "alpha" {
		t.Errorf("current_schema() = %q, %v; want alpha", schema, err)
	}
	if n := count(t, pool, "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'hc_tmpl_%'"); n != 0 {
		t.Errorf("%d sessions are connected to templates", n)
	}
}

func TestEmptyDatabase(t *testing.T) {
	t.Parallel()
	conn := connect(t, URL(t))
	if n := count(t, conn, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"); n != 0 {
		t.Errorf("empty database has %d tables", n)
	}
}

func TestTemplateIsReused(t *testing.T) {
	t.Parallel()
	name, _, err := templateName([]pg.Schema{alpha})
	if err != nil {
		t.Fatal(err)
	}
	URL(t, alpha)
	admin := connect(t, serverURL())
	oid := func() uint32 {
		var o uint32
		if err := admin.QueryRow(context.Background(), "SELECT oid FROM pg_database WHERE datname = $1 AND datistemplate AND NOT datallowconn", name).Scan(&o); err != nil {
			t.Fatalf("template %s: %v", name, err)
		}
		return o
	}
	before := oid()
	// Forget what this process knows, as a new test binary would.
	templatesMu.Lock()
	clear(templates)
	templatesMu.Unlock()
	URL(t, alpha)
	if after := oid(); after != before {
		t.Errorf("template rebuilt: oid %d, then %d", before, after)
	}
	build := "hc_tbuild_" + strings.TrimPrefix(name, "hc_tmpl_")
	if n := count(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", build); n != 0 {
		t.Errorf("half-built template %s left", build)
	}
}

func TestTemplateNameFollowsMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	a := pg.Schema{Name: "svc", Migrations: fstest.MapFS{"00001_a.sql": file("-- +goose Up\nCREATE TABLE a (id int);\n")}}
	same := pg.Schema{Name: "svc", Migrations: fstest.MapFS{"00001_a.sql": file("-- +goose Up\nCREATE TABLE a (id int);\n")}}
	edited := pg.Schema{Name: "svc", Migrations: fstest.MapFS{"00001_a.sql": file("-- +goose Up\nCREATE TABLE a (id bigint);\n")}}
	renamed := pg.Schema{Name: "svc", Migrations: fstest.MapFS{"00001_b.sql": file("-- +goose Up\nCREATE TABLE a (id int);\n")}}
	other := pg.Schema{Name: "svc2", Migrations: a.Migrations}
	name := func(s ...pg.Schema) string {
		n, _, err := templateName(s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(n, "hc_tmpl_") || len(n) > 63 {
			t.Fatalf("bad template name %q", n)
		}
		return n
	}
	if name(a) != name(same) {
		t.Error("same migrations, different templates")
	}
	for _, s := range [][]pg.Schema{{edited}, {renamed}, {other}, {a, other}, {other, a}, nil} {
		if name(s...) == name(a) {
			t.Errorf("%v shares the template of %v", s, a)
		}
	}
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	t.Parallel()
	var u string
	t.Run("inner", func(t *testing.T) { u = URL(t, alpha) })
	name := u[strings.LastIndex(u, "/")+1:]
	name, _, _ = strings.Cut(name, "?")
	admin := connect(t, serverURL())
	if n := count(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", name); n != 0 {
		t.Errorf("database %s still exists after its test", name)
	}
}

// TestConcurrentBuilders plays several test binaries building one new template at once.
func TestConcurrentBuilders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schemas := []pg.Schema{{Name: "gamma", Migrations: fstest.MapFS{
		"00001_x.sql": {Data: []byte("-- +goose Up\nCREATE TABLE x (id int);\n-- " + randomHex(8) + "\n")},
	}}}
	name, key, err := templateName(schemas)
	if err != nil {
		t.Fatal(err)
	}
	adm, err := getAdmin(ctx, serverURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dropTemplate(context.Background(), adm.pool, name); err != nil {
			t.Error(err)
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = prepareTemplate(ctx, adm, name, key, schemas) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	conn := connect(t, URL(t, schemas...))
	if n := count(t, conn, "SELECT count(*) FROM gamma.goose_db_version WHERE version_id = 1"); n != 1 {
		t.Errorf("migration 1 recorded %d times", n)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and stops the goroutine.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestUnreachableServerFailsLoudly(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://postgres:hunter22@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		URL(rec, alpha)
	}()
	<-done
	for _, want := range []string{"cannot reach PostgreSQL", "DATABASE_URL", "Start PostgreSQL"} {
		if !strings.Contains(rec.msg, want) {
			t.Errorf("failure message %q lacks %q", rec.msg, want)
		}
	}
	if strings.Contains(rec.msg, "hunter22") {
		t.Errorf("failure message reveals the password: %s", rec.msg)
	}
}
