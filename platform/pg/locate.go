package pg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultPrivatePort is the TCP port of the private cluster started by [Locate], unless
// the HEALTHCORE_PG_PORT environment variable says otherwise.
const DefaultPrivatePort = 54329

// localURL is the server [Locate] tries after DATABASE_URL (a variable for tests).
var localURL = "postgres://postgres@127.0.0.1:5432/healthcore?sslmode=disable"

// Locate finds the PostgreSQL server `healthcore dev` uses and returns its URL:
//
//  1. DATABASE_URL, when set (used as is);
//  2. else a server on 127.0.0.1:5432 reachable as user postgres without a password,
//     with database "healthcore" (created if missing);
//  3. else a private cluster under <dataDir>/postgres, initialised on first use with the
//     machine's PostgreSQL binaries (initdb and pg_ctl on PATH or under
//     /usr/lib/postgresql/*/bin), listening on 127.0.0.1:[DefaultPrivatePort] (or
//     HEALTHCORE_PG_PORT) and started with pg_ctl. It keeps running after the process
//     exits and is reused next time; [StopPrivate] stops it. When running as root,
//     initdb and pg_ctl run as the "postgres" system user.
//
// When none works the error says what to do. log may be nil (slog.Default()).
func Locate(ctx context.Context, dataDir string, log *slog.Logger) (url string, err error) {
	if log == nil {
		log = slog.Default()
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		log.InfoContext(ctx, "using PostgreSQL from DATABASE_URL", "url", RedactURL(u))
		return u, nil
	}

	probeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	localErr := EnsureDatabase(probeCtx, localURL)
	cancel()
	if localErr == nil {
		log.InfoContext(ctx, "using local PostgreSQL", "url", localURL)
		return localURL, nil
	}
	log.InfoContext(ctx, "no usable PostgreSQL on 127.0.0.1:5432; trying a private cluster", "reason", localErr.Error())

	port, err := privatePort()
	if err != nil {
		return "", err
	}
	if dataDir == "" {
		return "", errors.New("pg: no PostgreSQL found: DATABASE_URL is not set, nothing usable answers on 127.0.0.1:5432, and no data folder was given for a private cluster; set DATABASE_URL or start PostgreSQL on 127.0.0.1:5432")
	}
	abs, err := filepath.Abs(filepath.Join(dataDir, "postgres"))
	if err != nil {
		return "", fmt.Errorf("pg: data folder: %w", err)
	}
	u, err := startPrivate(ctx, abs, port, log)
	if err != nil {
		return "", fmt.Errorf("pg: no PostgreSQL found: DATABASE_URL is not set, nothing usable answers on 127.0.0.1:5432 (%v), "+
			"and a private cluster in %s could not be started: %w. "+
			"Fix: set DATABASE_URL to a PostgreSQL 15+ server (e.g. postgres://user:password@host:5432/healthcore), "+
			"or start PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres, "+
			"or install the PostgreSQL server (e.g. apt-get install postgresql) so that initdb and pg_ctl exist",
			localErr, abs, err)
	}
	return u, nil
}

// privatePort reads HEALTHCORE_PG_PORT, defaulting to DefaultPrivatePort.
func privatePort() (int, error) {
	s := os.Getenv("HEALTHCORE_PG_PORT")
	if s == "" {
		return DefaultPrivatePort, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("pg: HEALTHCORE_PG_PORT=%q is not a TCP port", s)
	}
	return p, nil
}

// privateURL is the URL of the private cluster's healthcore database.
func privateURL(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/healthcore?sslmode=disable", port)
}

// StopPrivate stops the private cluster that [Locate] started under
// <dataDir>/postgres, if it runs. Its data stays for the next start.
func StopPrivate(ctx context.Context, dataDir string) error {
	abs, err := filepath.Abs(filepath.Join(dataDir, "postgres"))
	if err != nil {
		return fmt.Errorf("pg: data folder: %w", err)
	}
	return stopPrivate(ctx, abs)
}
