package pg

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// Schema is one service's PostgreSQL schema and its goose SQL migrations: files named
// NNNNN_name.sql at the root of Migrations, each with "-- +goose Up" and
// "-- +goose Down" sections and unqualified table names. A nil Migrations only
// creates the schema.
type Schema struct {
	// Name is the schema name: lower-case letters, digits and underscores.
	Name string
	// Migrations holds the schema's goose migration files, usually an embed.FS.
	Migrations fs.FS
	// Jobs adds River's job tables to the schema (see platform/jobs): a service whose
	// state changes enqueue durable work commits both in one transaction.
	Jobs bool
}

// versionTable is the name of goose's version table inside a schema.
const versionTable = "goose_db_version"

// Migrate brings every schema up to date on the database at url, in order. For each
// schema it creates the schema when missing, then applies the pending migrations with
// search_path set to the schema, recording versions in <schema>.goose_db_version.
// Objects are created by the schema's owner: when url logs in as a superuser or a
// member of the owner, Migrate acts as the owner (SET ROLE), so objects never end up
// owned by whoever happened to run it (see Grants for the roles of production).
// A per-schema PostgreSQL advisory lock (goose's session locker) makes concurrent calls
// from several replicas safe: each migration is applied once and the others wait; a
// database-wide one, taken only when a schema has migrations pending, keeps services
// that migrate a fresh database at once from creating the same extension together.
// Applied migrations are logged to log (nil discards).
func Migrate(ctx context.Context, url string, log *slog.Logger, schemas ...Schema) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, s := range schemas {
		if err := checkSchemaName(s.Name); err != nil {
			return err
		}
	}
	base, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("pg: parse database URL %s: %w", RedactURL(url), scrub(err, url))
	}
	for _, s := range schemas {
		if err := migrateOne(ctx, url, base, s, log); err != nil {
			return fmt.Errorf("pg: migrate schema %s: %w", s.Name, scrub(err, url))
		}
	}
	return nil
}

func migrateOne(ctx context.Context, url string, base *pgx.ConnConfig, s Schema, log *slog.Logger) error {
	cfg := base.Copy()
	setSessionParams(cfg, s.Name)
	if err := prepareSchema(ctx, cfg, s.Name); err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	db.SetMaxOpenConns(2) // one holds the session lock, one may run migrations

	if s.Jobs {
		if err := migrateJobs(ctx, cfg, s.Name, log); err != nil {
			return fmt.Errorf("river job tables: %w", err)
		}
	}
	if s.Migrations == nil {
		return nil
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockID(s.Name)),
		lock.WithLockTimeout(1, 600), // poll every second, for up to ten minutes
	)
	if err != nil {
		return err
	}
	store, err := database.NewStore(database.DialectPostgres, s.Name+"."+versionTable)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectCustom, db, s.Migrations,
		goose.WithStore(store),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil
	}
	if err != nil {
		return err
	}
	// Objects outside the schema — extensions above all — are the database's: two
	// services creating the same one at once (CREATE EXTENSION IF NOT EXISTS) collide
	// on pg_extension's unique index. Whoever has migrations to apply therefore holds a
	// database-wide lock while applying them; a schema already up to date (every
	// start but the first) takes none.
	pending, err := p.HasPending(ctx)
	if err != nil {
		return err
	}
	if !pending {
		log.DebugContext(ctx, "schema up to date", "schema", s.Name)
		return nil
	}
	unlock, err := lockDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer unlock()
	results, err := p.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			log.InfoContext(ctx, "migration applied",
				"schema", s.Name, "version", r.Source.Version, "duration", r.Duration)
		}
	}
	if err != nil {
		return err
	}
	if len(results) == 0 {
		log.DebugContext(ctx, "schema up to date", "schema", s.Name)
	}
	return nil
}

// migrateJobs brings River's tables in the schema up to date under a session advisory
// lock of its own, so replicas starting together migrate once. (River runs some of its
// migrations in separate transactions: enum values must commit before they are used.)
func migrateJobs(ctx context.Context, cfg *pgx.ConnConfig, schema string, log *slog.Logger) error {
	lockConn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = lockConn.Close(context.WithoutCancel(ctx)) }()
	if _, err := lockConn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID(schema+"/river")); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	// Closing the connection releases the lock too, should the unlock fail.
	defer func() {
		_, _ = lockConn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID(schema+"/river"))
	}()

	poolCfg, err := pgxpool.ParseConfig("")
	if err != nil {
		return err
	}
	poolCfg.ConnConfig = cfg.Copy()
	poolCfg.MaxConns = 1
	db, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return err
	}
	defer db.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(db), &rivermigrate.Config{Schema: schema, Logger: log})
	if err != nil {
		return err
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return err
	}
	for _, v := range res.Versions {
		log.InfoContext(ctx, "migration applied", "schema", schema, "river_version", v.Version, "duration", v.Duration)
	}
	return nil
}

// prepareSchema creates the schema when missing and, when cfg logs in as another role
// than the schema's owner but one that may act as it (a superuser, or a member of the
// owner), makes cfg's connections SET ROLE to the owner (through the "role" startup
// parameter): everything the migrations create is then owned by the schema's owner,
// whose default privileges give the service's role its rights (see Grants). A role
// that may not act as the owner (a service's role checking at start that its schema
// is up to date) migrates as itself: with nothing pending that only reads, and with a
// migration pending it fails for want of CREATE on the schema.
//
// Concurrent CREATE SCHEMA IF NOT EXISTS can still fail on pg_namespace's unique
// index, so creators take a transaction-level advisory lock (the schema's migration
// lock id) first.
func prepareSchema(ctx context.Context, cfg *pgx.ConnConfig, name string) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	const ownerQuery = `SELECT pg_get_userbyid(nspowner), current_user, pg_has_role(nspowner, 'MEMBER')
		FROM pg_namespace WHERE nspname = $1`
	var owner, current string
	var mayAct bool
	err = conn.QueryRow(ctx, ownerQuery, name).Scan(&owner, &current, &mayAct)
	if errors.Is(err, pgx.ErrNoRows) {
		err = InTx(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockID(name)); err != nil {
				return fmt.Errorf("lock schema creation: %w", err)
			}
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = conn.QueryRow(ctx, ownerQuery, name).Scan(&owner, &current, &mayAct)
	}
	if err != nil {
		return fmt.Errorf("find the schema's owner: %w", err)
	}
	if owner != current && mayAct {
		cfg.RuntimeParams["role"] = owner
	}
	return nil
}

// lockDatabase holds the database-wide migration lock on a connection of its own until
// the function it returns is called (waiting for it, as long as ctx allows).
func lockDatabase(ctx context.Context, cfg *pgx.ConnConfig) (func(), error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID("*database*")); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("lock the database's migrations: %w", err)
	}
	return func() {
		// Closing the session releases its lock even when the unlock cannot be sent.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID("*database*"))
		_ = conn.Close(context.WithoutCancel(ctx))
	}, nil
}

// lockID is the advisory lock key guarding one schema's migrations, so replicas of one
// service serialise while different services migrate in parallel.
func lockID(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("healthcore/pg/migrate/" + schema))
	return int64(h.Sum64())
}

// Dir returns the sub-folder of an embedded file system that holds a service's
// migrations (//go:embed migrations/*.sql, then Dir(files, "migrations")).
func Dir(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(fmt.Sprintf("pg: migrations folder %q: %v", dir, err))
	}
	return sub
}

// JobsVersion is the newest version of River's job tables this build migrates to; test
// templates are rebuilt when it changes.
func JobsVersion() int {
	migrator, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		return 0
	}
	all := migrator.AllVersions()
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Version
}
