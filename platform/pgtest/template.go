package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"healthcore/platform/pg"
)

// templateFormat is part of every template hash; bump it when the way templates are
// built changes, so old templates are not reused.
const templateFormat = "healthcore-pgtest-template/v1"

var (
	templatesMu sync.Mutex
	templates   = map[string]bool{} // server + "\x00" + template name → known ready
)

// ensureTemplate returns the name of the ready template holding schemas, building it
// when no process has yet.
func ensureTemplate(ctx context.Context, a *admin, schemas []pg.Schema) (string, error) {
	name, key, err := templateName(schemas)
	if err != nil {
		return "", err
	}
	templatesMu.Lock()
	defer templatesMu.Unlock()
	if templates[a.server+"\x00"+name] {
		return name, nil
	}
	if err := prepareTemplate(ctx, a, name, key, schemas); err != nil {
		return "", err
	}
	templates[a.server+"\x00"+name] = true
	return name, nil
}

// templateName is hc_tmpl_<hash> over every schema's name and every migration file's
// name and content; key is the advisory lock key guarding its creation.
func templateName(schemas []pg.Schema) (name string, key int64, err error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", templateFormat, len(schemas))
	for _, s := range schemas {
		fmt.Fprintf(h, "schema\x00%s\x00%t\x00", s.Name, s.Jobs)
		if s.Jobs {
			fmt.Fprintf(h, "river\x00%d\x00", pg.JobsVersion())
		}
		if s.Migrations == nil {
			continue
		}
		entries, err := fs.ReadDir(s.Migrations, ".")
		if err != nil {
			return "", 0, fmt.Errorf("read migrations of schema %s: %w", s.Name, err)
		}
		for _, e := range entries { // sorted by name
			if e.IsDir() {
				continue
			}
			b, err := fs.ReadFile(s.Migrations, e.Name())
			if err != nil {
				return "", 0, fmt.Errorf("read migrations of schema %s: %w", s.Name, err)
			}
			fmt.Fprintf(h, "file\x00%s\x00%d\x00", e.Name(), len(b))
			h.Write(b)
		}
	}
	sum := h.Sum(nil)
	return "hc_tmpl_" + hex.EncodeToString(sum[:6]), int64(binary.BigEndian.Uint64(sum[:8])), nil
}

// prepareTemplate makes sure template name exists and is ready. Across processes, the
// builder holds a session advisory lock; the template is built under a temporary name
// and renamed only when complete, so a half-built one is never cloned.
func prepareTemplate(ctx context.Context, a *admin, name string, key int64, schemas []pg.Schema) (err error) {
	if ready, err := templateReady(ctx, a.pool, name); err != nil || ready {
		return err
	}
	conn, err := a.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("lock template %s: %w", name, err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key); uerr != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx)) // ends the session, and the lock
		}
	}()
	ready, err := templateReady(ctx, conn, name)
	if err != nil || ready {
		return err // another process built it meanwhile
	}
	// Leftovers of a builder that died: a temporary database, or a final one that was
	// never completed (only possible if someone altered it by hand).
	build := "hc_tbuild_" + name[len("hc_tmpl_"):]
	for _, db := range []string{build, name} {
		if err := dropTemplate(ctx, conn, db); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+build+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("create %s: %w", build, err)
	}
	buildURL, err := pg.WithDatabase(a.server, build)
	if err != nil {
		return err
	}
	if err := pg.Migrate(ctx, buildURL, nil, schemas...); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	// No session may stay on a template: CREATE DATABASE … TEMPLATE refuses to copy a
	// database in use. Disallow connections, then end any session left.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+build+" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"); err != nil {
		return fmt.Errorf("mark %s as a template: %w", build, err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", build); err != nil {
		return err
	}
	return retryInUse(ctx, func() error {
		_, err := conn.Exec(ctx, "ALTER DATABASE "+build+" RENAME TO "+name)
		return err
	})
}

// querier is what both *pgxpool.Pool and *pgxpool.Conn offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// templateReady reports whether database name exists as a finished template.
func templateReady(ctx context.Context, q querier, name string) (bool, error) {
	var ready bool
	err := q.QueryRow(ctx, "SELECT datistemplate AND NOT datallowconn FROM pg_database WHERE datname = $1", name).Scan(&ready)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up template %s: %w", name, err)
	}
	return ready, nil
}

// dropTemplate drops database name, template or not, when it exists.
func dropTemplate(ctx context.Context, q querier, name string) error {
	var exists bool
	if err := q.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil || !exists {
		return err
	}
	if _, err := q.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH IS_TEMPLATE false"); err != nil {
		return fmt.Errorf("unmark template %s: %w", name, err)
	}
	if _, err := q.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

// retryInUse retries f while it fails because the database is still in use
// (SQLSTATE 55006): terminated sessions take a moment to go away.
func retryInUse(ctx context.Context, f func() error) error {
	for i := 0; ; i++ {
		err := f()
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || i == 100 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
