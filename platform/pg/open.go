package pg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"
)

// schemaNameRE is the shape of a service schema name. It is deliberately narrow: the
// name is also used unquoted in goose's version table name.
var schemaNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func checkSchemaName(name string) error {
	if !schemaNameRE.MatchString(name) {
		return fmt.Errorf("pg: invalid schema name %q: want lower-case letters, digits and underscores, starting with a letter or underscore", name)
	}
	return nil
}

// Open returns a pgx pool whose connections use search_path = schema (so queries use
// unqualified table names) and application_name = healthcore-<schema>, after checking
// the server answers. maxConns <= 0 keeps pgxpool's default. An empty schema keeps the
// server's default search_path. Errors never contain the URL's password.
func Open(ctx context.Context, url, schema string, maxConns int32) (*pgxpool.Pool, error) {
	return OpenTraced(ctx, url, schema, maxConns, nil)
}

// OpenTraced is Open whose connections record a span per statement with tp
// (QueryTracer) inside the caller's recorded spans; nil records none.
func OpenTraced(ctx context.Context, url, schema string, maxConns int32, tp trace.TracerProvider) (*pgxpool.Pool, error) {
	if schema != "" {
		if err := checkSchemaName(schema); err != nil {
			return nil, err
		}
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pg: parse database URL %s: %w", RedactURL(url), scrub(err, url))
	}
	setSessionParams(cfg.ConnConfig, schema)
	if tp != nil {
		cfg.ConnConfig.Tracer = NewQueryTracer(tp, schema)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pg: open %s: %w", RedactURL(url), scrub(err, url))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pg: connect to %s: %w", RedactURL(url), scrub(err, url))
	}
	return pool, nil
}

// setSessionParams sets search_path and application_name for every connection.
func setSessionParams(cfg *pgx.ConnConfig, schema string) {
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "healthcore"
	// Our servers keep their data on SSDs (and RDS storage): random reads cost about what
	// sequential ones do. At PostgreSQL's default of 4 the planner prefers scanning
	// whole areas over walking the directory's GiST index nearest-first, with plans 100×
	// slower; 1.1 is the usual SSD setting. A URL that sets it explicitly wins.
	if _, set := cfg.RuntimeParams["random_page_cost"]; !set {
		cfg.RuntimeParams["random_page_cost"] = "1.1"
	}
	if schema != "" {
		cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
		cfg.RuntimeParams["application_name"] = "healthcore-" + schema
	}
}

// EnsureDatabase creates the database named by url when it does not exist yet, by
// connecting to the "postgres" database of the same server with the same credentials.
// It is safe to call concurrently and when the database already exists.
func EnsureDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("pg: parse database URL %s: %w", RedactURL(url), scrub(err, url))
	}
	name := cfg.Database
	if name == "" {
		return fmt.Errorf("pg: database URL %s names no database", RedactURL(url))
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("pg: connect to %s: %w", RedactURL(url), scrub(err, url))
	}

	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("pg: connect to the postgres database of %s: %w", RedactURL(url), scrub(err, url))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		return nil // duplicate_database, or unique_violation when created concurrently
	}
	if err != nil {
		return fmt.Errorf("pg: create database %q: %w", name, err)
	}
	return nil
}

// RedactURL returns url with its password replaced by "xxxxx", for logs and errors. It
// understands both URL ("postgres://user:pw@host/db") and keyword/value
// ("host=… password=…") connection strings.
func RedactURL(s string) string {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return "(unparsable database URL)"
		}
		red := u.Redacted()
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
			red = u.Redacted()
		}
		return red
	}
	return kvPasswordRE.ReplaceAllString(s, "${1}xxxxx")
}

var kvPasswordRE = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*)`)

// passwordOf extracts the password of a connection string, best effort.
func passwordOf(s string) string {
	if u, err := url.Parse(s); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if pw, ok := u.User.Password(); ok {
			return pw
		}
		return u.Query().Get("password")
	}
	if m := kvPasswordRE.FindStringSubmatch(s); m != nil {
		return strings.Trim(m[2], "'")
	}
	return ""
}

// scrub hides the password of connURL in err's text while keeping err unwrappable.
func scrub(err error, connURL string) error {
	pw := passwordOf(connURL)
	if err == nil || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return scrubbedError{msg: strings.ReplaceAll(err.Error(), pw, "xxxxx"), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }

// WithDatabase returns connURL naming the database name instead of its own, for a URL
// (postgres://…) or a keyword/value string (where the last dbname wins). Tests and
// benchmarks use it to reach a database of their own on the configured server.
func WithDatabase(connURL, name string) (string, error) {
	if strings.HasPrefix(connURL, "postgres://") || strings.HasPrefix(connURL, "postgresql://") {
		u, err := url.Parse(connURL)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", RedactURL(connURL), err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	return connURL + " dbname=" + name, nil
}
