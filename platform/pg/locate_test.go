package pg

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestLocatePrefersDatabaseURL(t *testing.T) {
	const u = "postgres://someone:pw@db.example:5432/healthcore"
	t.Setenv("DATABASE_URL", u)
	got, err := Locate(context.Background(), t.TempDir(), quietLog())
	if err != nil || got != u {
		t.Fatalf("Locate = %q, %v; want %q", got, err, u)
	}
}

func TestLocateUsesLocalServer(t *testing.T) {
	ctx := context.Background()
	probe, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := EnsureDatabase(probe, localURL); err != nil {
		t.Skipf("no trust-auth PostgreSQL on 127.0.0.1:5432: %v", err)
	}
	t.Setenv("DATABASE_URL", "")
	dataDir := t.TempDir()
	got, err := Locate(ctx, dataDir, quietLog())
	if err != nil || got != localURL {
		t.Fatalf("Locate = %q, %v; want %q", got, err, localURL)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postgres")); err == nil {
		t.Error("Locate created a private cluster although 127.0.0.1:5432 answers")
	}
}

func TestPrivatePort(t *testing.T) {
	t.Setenv("HEALTHCORE_PG_PORT", "")
	if p, err := privatePort(); p != DefaultPrivatePort || err != nil {
		t.Errorf("default port = %d, %v", p, err)
	}
	t.Setenv("HEALTHCORE_PG_PORT", "6543")
	if p, err := privatePort(); p != 6543 || err != nil {
		t.Errorf("port = %d, %v; want 6543", p, err)
	}
	t.Setenv("HEALTHCORE_PG_PORT", "x")
	if _, err := privatePort(); err == nil {
		t.Error("accepted a bad HEALTHCORE_PG_PORT")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPrivateCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("initdb is slow")
	}
	if _, err := findBinaries(t.TempDir()); err != nil {
		t.Skipf("no PostgreSQL server binaries: %v", err)
	}
	// Not t.TempDir: its folders are private to root, and the cluster may have to run as
	// the postgres user.
	dataDir, err := os.MkdirTemp("", "hc-pg-private-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pgdata := filepath.Join(dataDir, "postgres")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := StopPrivate(ctx, dataDir); err != nil {
			t.Errorf("StopPrivate: %v", err)
		}
		os.RemoveAll(dataDir)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	port := freePort(t)
	check := func(u string) {
		t.Helper()
		if u != privateURL(port) {
			t.Fatalf("url = %q, want %q", u, privateURL(port))
		}
		if err := Migrate(ctx, u, nil, testSchema("clinic")); err != nil {
			t.Fatal(err)
		}
		pool, err := Open(ctx, u, "clinic", 1)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		var dir, listen string
		if err := pool.QueryRow(ctx, "SELECT current_setting('data_directory'), current_setting('listen_addresses')").Scan(&dir, &listen); err != nil {
			t.Fatal(err)
		}
		if dir != pgdata || listen != "127.0.0.1" {
			t.Errorf("data_directory, listen_addresses = %q, %q; want %q, 127.0.0.1", dir, listen, pgdata)
		}
	}
	start := func() string {
		t.Helper()
		u, err := startPrivate(ctx, pgdata, port, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	// Locate falls back to the private cluster when nothing answers where it looks
	// first: point that at a closed port.
	saved := localURL
	localURL = privateURL(freePort(t))
	t.Cleanup(func() { localURL = saved })
	t.Setenv("DATABASE_URL", "")
	t.Setenv("HEALTHCORE_PG_PORT", strconv.Itoa(port))
	u, err := Locate(ctx, dataDir, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	check(u)       // initdb + start
	check(start()) // already running
	if err := StopPrivate(ctx, dataDir); err != nil {
		t.Fatal(err)
	}
	check(start()) // start an existing cluster
}

func TestLocateExplainsWhatToDo(t *testing.T) {
	savedURL, savedDirs := localURL, pgBinDirs
	localURL, pgBinDirs = privateURL(freePort(t)), nil
	t.Cleanup(func() { localURL, pgBinDirs = savedURL, savedDirs })
	t.Setenv("DATABASE_URL", "")
	t.Setenv("PATH", "")
	_, err := Locate(context.Background(), t.TempDir(), quietLog())
	if err == nil {
		t.Fatal("Locate succeeded without any PostgreSQL")
	}
	t.Log(err)
	for _, want := range []string{"set DATABASE_URL", "install the PostgreSQL server", "initdb"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
