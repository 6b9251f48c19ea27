package pg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pgBinDirs are the folders searched for initdb and pg_ctl after PATH; globbed
// versions are tried newest first.
var pgBinDirs = []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"}

// startPrivate makes sure a cluster in pgdata is initialised and running on
// 127.0.0.1:port, and returns the URL of its healthcore database.
func startPrivate(ctx context.Context, pgdata string, port int, log *slog.Logger) (string, error) {
	cred, err := runAsCredential()
	if err != nil {
		return "", err
	}
	bin, err := findBinaries(pgdata)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		log.InfoContext(ctx, "initialising private PostgreSQL cluster", "dir", pgdata, "bin", bin)
		if err := initCluster(ctx, bin, pgdata, cred); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}

	running, err := clusterRunning(ctx, bin, pgdata, cred)
	if err != nil {
		return "", err
	}
	if !running {
		log.InfoContext(ctx, "starting private PostgreSQL cluster", "dir", pgdata, "port", port)
		logFile := filepath.Join(pgdata, "server.log")
		_, err := run(ctx, cred, pgdata, filepath.Join(bin, "pg_ctl"), "start", "-D", pgdata,
			"-w", "-t", "120", "-l", logFile, "-o", "-p "+strconv.Itoa(port))
		if err != nil {
			return "", fmt.Errorf("pg_ctl start: %w%s", err, tail(logFile))
		}
	}
	u := privateURL(port)
	if err := EnsureDatabase(ctx, u); err != nil {
		return "", fmt.Errorf("private cluster in %s does not answer on 127.0.0.1:%d (stop it with `pg_ctl stop -D %s` or set HEALTHCORE_PG_PORT to its port): %w", pgdata, port, pgdata, err)
	}
	log.InfoContext(ctx, "using private PostgreSQL cluster", "url", u, "dir", pgdata)
	return u, nil
}

// initCluster runs initdb in pgdata and confines the server to 127.0.0.1 over TCP.
func initCluster(ctx context.Context, bin, pgdata string, cred *syscall.Credential) error {
	if err := os.MkdirAll(pgdata, 0o700); err != nil {
		return err
	}
	if cred != nil {
		// The data folder holds other secrets (the local master keyring, in a 0700
		// folder of its own), so it only gains search permission, never read: the
		// postgres user can reach its cluster inside but cannot list the rest.
		dataDir := filepath.Dir(pgdata)
		if fi, err := os.Stat(dataDir); err == nil && fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dataDir, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("let the postgres user reach %s: %w", pgdata, err)
			}
		}
		if err := os.Chown(pgdata, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand %s to the postgres user: %w", pgdata, err)
		}
		if err := checkReachable(pgdata, cred); err != nil {
			return err
		}
	}
	if _, err := run(ctx, cred, pgdata, filepath.Join(bin, "initdb"), "-D", pgdata,
		"-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	// Only TCP on loopback; no Unix socket, whose default folder may not be writable.
	conf := "\n# healthcore private cluster\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
	f, err := os.OpenFile(filepath.Join(pgdata, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// clusterRunning asks pg_ctl status whether a postmaster runs in pgdata.
func clusterRunning(ctx context.Context, bin, pgdata string, cred *syscall.Credential) (bool, error) {
	_, err := run(ctx, cred, pgdata, filepath.Join(bin, "pg_ctl"), "status", "-D", pgdata)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 3: // not running
		return false, nil
	default:
		return false, fmt.Errorf("pg_ctl status: %w", err)
	}
}

// StartCluster makes sure a cluster in the folder pgdata (absolute) is initialised and
// running on 127.0.0.1:port, as [Locate] does for its private cluster, and returns the
// URL of its healthcore database. Tests use it for a server of their own that they may
// stop and start ([StopCluster]) without disturbing anyone else's.
func StartCluster(ctx context.Context, pgdata string, port int, log *slog.Logger) (string, error) {
	if log == nil {
		log = slog.Default()
	}
	return startPrivate(ctx, pgdata, port, log)
}

// StopCluster stops the cluster in pgdata when it runs, in pg_ctl's mode: "fast"
// (sessions are ended, a clean shutdown) or "immediate" (the server quits at once, as
// in a crash, and recovers from its WAL at the next start).
func StopCluster(ctx context.Context, pgdata, mode string) error {
	return stopCluster(ctx, pgdata, mode)
}

// stopPrivate stops the cluster in pgdata when it runs.
func stopPrivate(ctx context.Context, pgdata string) error {
	return stopCluster(ctx, pgdata, "fast")
}

func stopCluster(ctx context.Context, pgdata, mode string) error {
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err != nil {
		return nil // never initialised
	}
	cred, err := runAsCredential()
	if err != nil {
		return err
	}
	bin, err := findBinaries(pgdata)
	if err != nil {
		return err
	}
	running, err := clusterRunning(ctx, bin, pgdata, cred)
	if err != nil || !running {
		return err
	}
	if _, err := run(ctx, cred, pgdata, filepath.Join(bin, "pg_ctl"), "stop", "-D", pgdata, "-m", mode, "-w"); err != nil {
		return fmt.Errorf("pg: pg_ctl stop: %w", err)
	}
	return nil
}

// runAsCredential returns nil when the process may run initdb itself, or the postgres
// system user's credential when it runs as root (initdb refuses root).
func runAsCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and initdb refuses root, but there is no postgres system user to run it as (%v)", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has non-numeric uid/gid %q/%q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// checkReachable fails when a parent folder of dir is not searchable by cred's user.
func checkReachable(dir string, cred *syscall.Credential) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		perm := fi.Mode().Perm()
		st, ok := fi.Sys().(*syscall.Stat_t)
		allowed := perm&0o001 != 0 || ok && (st.Uid == cred.Uid && perm&0o100 != 0 || st.Gid == cred.Gid && perm&0o010 != 0)
		if !allowed {
			return fmt.Errorf("the postgres user cannot reach %s because %s is not searchable by it (e.g. chmod o+x %s, or choose another data folder)", dir, d, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// findBinaries returns the folder holding initdb and pg_ctl. When pgdata already holds
// a cluster, the binaries must be of its major version.
func findBinaries(pgdata string) (string, error) {
	want := ""
	if b, err := os.ReadFile(filepath.Join(pgdata, "PG_VERSION")); err == nil {
		want = strings.TrimSpace(string(b))
	}
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, pattern := range pgBinDirs {
		found, _ := filepath.Glob(pattern)
		slices.SortFunc(found, func(a, b string) int { return versionOf(b) - versionOf(a) })
		dirs = append(dirs, found...)
	}
	var seen []string
	for _, d := range dirs {
		if !isExecutable(filepath.Join(d, "initdb")) || !isExecutable(filepath.Join(d, "pg_ctl")) {
			continue
		}
		major := majorVersion(filepath.Join(d, "pg_ctl"))
		if want == "" || major == want {
			return d, nil
		}
		seen = append(seen, d+" (PostgreSQL "+major+")")
	}
	if want != "" && len(seen) > 0 {
		return "", fmt.Errorf("the cluster in %s was created by PostgreSQL %s, but only these binaries were found: %s", pgdata, want, strings.Join(seen, ", "))
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in %s", strings.Join(pgBinDirs, ", "))
}

// versionOf extracts the first number of a path such as /usr/lib/postgresql/15/bin.
func versionOf(path string) int {
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r < '0' || r > '9' }) {
		if n, err := strconv.Atoi(part); err == nil {
			return n
		}
	}
	return 0
}

// majorVersion runs `pg_ctl --version` ("pg_ctl (PostgreSQL) 15.8") and returns "15".
func majorVersion(pgCtl string) string {
	out, err := exec.Command(pgCtl, "--version").Output()
	if err != nil {
		return "?"
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return "?"
	}
	return strings.SplitN(fields[len(fields)-1], ".", 2)[0]
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0
}

// run executes a PostgreSQL program, as cred's user when cred is not nil, and returns
// its combined output; on failure the output is part of the error.
func run(ctx context.Context, cred *syscall.Credential, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.Bytes(), &runError{err: err, output: strings.TrimSpace(out.String())}
	}
	return out.Bytes(), nil
}

type runError struct {
	err    error
	output string
}

func (e *runError) Error() string {
	if e.output == "" {
		return e.err.Error()
	}
	return e.err.Error() + ": " + e.output
}

func (e *runError) Unwrap() error { return e.err }

// tail returns the end of a log file, formatted for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n--- " + path + " ---\n" + strings.TrimSpace(string(b))
}
