// Package pg is Healthcore's PostgreSQL plumbing: it opens pgx pools confined to one
// service's schema, applies each service's embedded goose migrations safely from many
// replicas at once, and finds (or starts) a PostgreSQL server for `healthcore dev`.
//
// Every service owns exactly one schema; its migrations use unqualified names and run
// with search_path set to that schema, and its goose version table lives inside it.
// In production an owner role owns the schemas and runs the migrations, and each
// service connects through a role with rights on its own schema only ([Grants]).
package pg
