package pg

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func testSchema(name string) Schema {
	return Schema{Name: name, Migrations: os.DirFS("testdata/migrations")}
}

func TestOpenHonoursSearchPath(t *testing.T) {
	ctx := context.Background()
	u := emptyDatabase(t)
	if err := Migrate(ctx, u, nil, testSchema("clinic"), testSchema("ward")); err != nil {
		t.Fatal(err)
	}
	pool, err := Open(ctx, u, "clinic", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pool.Config().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3", got)
	}

	var schema, app string
	if err := pool.QueryRow(ctx, "SELECT current_schema(), current_setting('application_name')").Scan(&schema, &app); err != nil {
		t.Fatal(err)
	}
	if schema != "clinic" || app != "healthcore-clinic" {
		t.Errorf("current_schema, application_name = %q, %q; want clinic, healthcore-clinic", schema, app)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO patients (name) VALUES ('Ana')"); err != nil {
		t.Fatal(err)
	}
	var inClinic, inWard int
	err = pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM clinic.patients), (SELECT count(*) FROM ward.patients)").Scan(&inClinic, &inWard)
	if err != nil {
		t.Fatal(err)
	}
	if inClinic != 1 || inWard != 0 {
		t.Errorf("rows in clinic/ward = %d/%d, want 1/0", inClinic, inWard)
	}
}

func TestOpenErrorsHidePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, u := range []string{
		"postgres://postgres:s3cr3tpw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", // nothing listens on port 1
		"postgres://postgres:s3cr3tpw@127.0.0.1:notaport/x",
		"host=127.0.0.1 port=1 user=postgres password=s3cr3tpw connect_timeout=2 sslmode=disable",
		"host=127.0.0.1 port=1 password='s3cr3tpw' bogus",
	} {
		_, err := Open(ctx, u, "clinic", 0)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", RedactURL(u))
		}
		if strings.Contains(err.Error(), "s3cr3tpw") {
			t.Errorf("error reveals the password: %v", err)
		}
	}
	if _, err := Open(ctx, testServerURL(), "Bad-Name", 0); err == nil {
		t.Error("Open accepted an invalid schema name")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db":                         "postgres://u@h/db",
		"postgresql://u@h/db?password=pw":           "postgresql://u@h/db?password=xxxxx",
		"host=h password=pw user=u":                 "host=h password=xxxxx user=u",
		"host=h password='p w' user=u":              "host=h password=xxxxx user=u",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnsureDatabase(t *testing.T) {
	ctx := context.Background()
	name := randomName("hc_pgtest_")
	dropLater(t, name)
	u := withDatabase(t, testServerURL(), name)

	// Several at once: all succeed, the database exists once.
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- EnsureDatabase(ctx, u) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := EnsureDatabase(ctx, u); err != nil {
		t.Fatalf("second call: %v", err)
	}
	var n int
	if err := adminConn(t).QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("database %s exists %d times", name, n)
	}
	pool, err := Open(ctx, u, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	pool.Close()
}
