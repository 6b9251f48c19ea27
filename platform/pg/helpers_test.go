package pg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testServerURL is the server the tests use: DATABASE_URL, else the local default.
func testServerURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// withDatabase returns connURL pointing at database name.
func withDatabase(t testing.TB, connURL, name string) string {
	t.Helper()
	u, err := WithDatabase(connURL, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// adminConn connects to the test server or fails loudly.
func adminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testServerURL())
	if err != nil {
		t.Fatalf("cannot reach PostgreSQL at %s (start PostgreSQL or set DATABASE_URL): %v", RedactURL(testServerURL()), err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// dropLater drops database name when the test ends.
func dropLater(t testing.TB, name string) {
	t.Helper()
	conn := adminConn(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
}

// emptyDatabase creates a fresh empty database, dropped when the test ends, and
// returns its URL.
func emptyDatabase(t testing.TB) string {
	t.Helper()
	name := randomName("hc_pgtest_")
	conn := adminConn(t)
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	dropLater(t, name)
	return withDatabase(t, testServerURL(), name)
}
