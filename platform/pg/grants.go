package pg

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// rolePrefix starts the name of every service's database role.
const rolePrefix = "healthcore_"

// roleNameRE is the shape of a role name Grants accepts: what an unquoted identifier
// may be, lower-case, and no longer than PostgreSQL keeps (63 bytes).
var roleNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Role is the database role through which a service reads and writes schema:
// "healthcore_<schema>". [Grants] creates it and gives it its rights.
func Role(schema string) string { return rolePrefix + schema }

// Grants returns the SQL a database administrator runs so that each service reaches
// its own schema only, through a role of its own, while owner owns every schema and
// runs the migrations. The SQL is one transaction and idempotent: run it before the
// first migration, and again whenever a service (a schema) is added; running it again
// changes nothing else. It holds no password.
//
// What it sets up:
//
//   - The extensions the schemas' migrations create (CREATE EXTENSION in their Up
//     sections) are created in those schemas first, by the administrator: owner is no
//     superuser, and PostgreSQL lets only superusers create the extensions it does not
//     mark trusted (earthdistance, for one). The migrations' own CREATE EXTENSION IF
//     NOT EXISTS then finds them there. (Run the SQL again before migrating a release
//     whose migrations add an extension.)
//   - owner (created with LOGIN when missing, never altered when it exists) owns every
//     schema and may create schemas in the database (a new service's schema, and the
//     trusted extensions some migrations create). Everything the migrations create is
//     owned by it.
//   - Each schema gets a NOLOGIN group role [Role](schema) ("healthcore_<schema>") with
//     USAGE on that schema only; SELECT, INSERT, UPDATE and DELETE on its tables and
//     USAGE, SELECT and UPDATE on its sequences — those that exist and, through ALTER
//     DEFAULT PRIVILEGES FOR ROLE owner, those owner's migrations create later. Never
//     TRUNCATE, REFERENCES or TRIGGER, never CREATE on any schema, nothing on another
//     service's schema. River's tables (Schema.Jobs) live in the service's schema and
//     are covered the same way: River's workers need no more than these rights, plus
//     LISTEN/NOTIFY and advisory locks, which PostgreSQL lets every role use. (River's
//     leader also reindexes its job table's indexes daily, which only the table's owner
//     may do before PostgreSQL 17: under a service role that maintenance fails and is
//     logged, and jobs keep working.)
//   - CREATE on schema public is revoked from PUBLIC (PostgreSQL 15 does so in new
//     databases; older ones granted it to every role), so no role but owner and the
//     administrators creates objects (temporary tables aside, which PostgreSQL lets
//     every role create unless TEMPORARY on the database is revoked from PUBLIC).
//
// The service roles cannot log in: create one login user per service (or two, to
// rotate a password without downtime) that is a member of its role, e.g.
//
//	CREATE ROLE scheduling_app LOGIN PASSWORD '…' IN ROLE healthcore_scheduling;
//
// Deployment recipe:
//
//  1. As a superuser (or, on a managed server, the administrator after
//     GRANT <owner> TO <administrator>), in the service database, run this SQL (e.g.
//     `healthcore migrate -print-grants | psql "$ADMIN_URL"`, owner healthcore_owner);
//     then set the owner's password (\password healthcore_owner) and create each
//     service's login user as above. For an existing deployment whose migrations ran as
//     one shared role, name that role as owner: it already owns every object.
//  2. `healthcore migrate` with its database URL naming the owner
//     (postgres://healthcore_owner:…@db/healthcore): the objects it creates are owned
//     by owner. [Migrate] always creates objects as the schema's owner, so a superuser
//     or a member of owner may run it too (it switches with SET ROLE).
//  3. `healthcore serve <service>` with the service's database URL naming its login
//     user (postgres://scheduling_app:…@db/healthcore), never the owner. Its Migrate
//     at start then only checks that nothing is pending; a pending migration is
//     refused (permission denied) until step 2 has run.
//
// owner and every service role name must be lower-case identifiers of at most 63 bytes,
// and owner must not be one of the services' roles.
func Grants(owner string, schemas []Schema) (string, error) {
	if !roleNameRE.MatchString(owner) || strings.HasPrefix(owner, "pg_") {
		return "", fmt.Errorf("pg: invalid owner role name %q: want lower-case letters, digits and underscores, at most 63, not starting with pg_", owner)
	}
	for _, s := range schemas {
		if err := checkSchemaName(s.Name); err != nil {
			return "", err
		}
		if role := Role(s.Name); !roleNameRE.MatchString(role) {
			return "", fmt.Errorf("pg: schema name %q is too long for its role %q (at most 63 bytes)", s.Name, role)
		}
		if Role(s.Name) == owner {
			return "", fmt.Errorf("pg: owner role %q is the role of service schema %s: the owner must be a role of its own", owner, s.Name)
		}
	}

	extensions := make([][]string, len(schemas))
	for i, s := range schemas {
		var err error
		if extensions[i], err = extensionsIn(s.Migrations); err != nil {
			return "", fmt.Errorf("pg: schema %s: %w", s.Name, err)
		}
	}

	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	o := ident(owner)
	line("-- Healthcore: an owner role for migrations, one role per service schema.")
	line("-- Idempotent: running it again changes nothing.")
	line("BEGIN;")
	line("")
	line("%s", createRoleIfMissing(owner, "LOGIN"))
	line("DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %%I TO %s', current_database()); END $$;", o)
	line("REVOKE CREATE ON SCHEMA public FROM PUBLIC;")
	for i, s := range schemas {
		n, r := ident(s.Name), ident(Role(s.Name))
		line("")
		line("-- %s", s.Name)
		line("%s", createRoleIfMissing(Role(s.Name), "NOLOGIN"))
		line("CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s;", n, o)
		line("ALTER SCHEMA %s OWNER TO %s;", n, o)
		for _, e := range extensions[i] {
			line("CREATE EXTENSION IF NOT EXISTS %s SCHEMA %s CASCADE;", ident(e), n)
		}
		line("REVOKE ALL ON SCHEMA %s FROM PUBLIC;", n)
		line("REVOKE CREATE ON SCHEMA %s FROM %s;", n, r)
		line("GRANT USAGE ON SCHEMA %s TO %s;", n, r)
		line("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %s TO %s;", n, r)
		line("REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA %s FROM %s;", n, r)
		line("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %s TO %s;", n, r)
		line("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %s;", o, n, r)
		line("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %s;", o, n, r)
	}
	line("")
	line("COMMIT;")
	return b.String(), nil
}

// createRoleIfMissing is a statement creating role with attrs unless it exists; an
// existing role keeps its attributes (its password, LOGIN, membership).
func createRoleIfMissing(role, attrs string) string {
	// role matches roleNameRE, so it needs no escaping inside the literal.
	return fmt.Sprintf("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '%s') THEN CREATE ROLE %s %s; END IF; END $$;",
		role, ident(role), attrs)
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// createExtensionRE finds the extensions a migration creates.
var createExtensionRE = regexp.MustCompile(`(?i)\bCREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"([^"]+)"|([a-z0-9_]+))`)

// extensionsIn lists, in order and once each, the extensions that the Up sections of
// the migrations in fsys create.
func extensionsIn(fsys fs.FS) ([]string, error) {
	if fsys == nil {
		return nil, nil
	}
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var found []string
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		up, _, _ := strings.Cut(string(b), "-- +goose Down")
		var code strings.Builder
		for l := range strings.Lines(up) {
			l, _, _ = strings.Cut(l, "--")
			code.WriteString(l + "\n")
		}
		for _, m := range createExtensionRE.FindAllStringSubmatch(code.String(), -1) {
			if name := m[1] + strings.ToLower(m[2]); !slices.Contains(found, name) {
				found = append(found, name)
			}
		}
	}
	return found, nil
}
