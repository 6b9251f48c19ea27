package partneredge

import (
	"context"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/auditchain"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the partner edge's PostgreSQL schema (its call log) and its migrations.
var Schema = pg.Schema{Name: "partneredge", Migrations: pg.Dir(migrations, "migrations")}

// Caller is the edge's own service name: the name its certificate carries. No
// internal method lists it among its callers: the edge calls services only with the
// partner's token, on the partner's methods.
const Caller = "partner-edge"

// CallLog appends the partner calls to the edge's chained, append-only call log by
// group commit (auditchain.Batcher): a call's row waits for the batch being written
// and its own, never for a transaction per row.
type CallLog struct {
	batch *auditchain.Batcher[Call]
}

// OpenCallLog opens the call log of the edge's schema (db's search_path), chained
// under the key derived from secret (ReadSecret).
func OpenCallLog(db *pgxpool.Pool, secret []byte) (*CallLog, error) {
	key, err := auditchain.NewKey(secret)
	if err != nil {
		return nil, fmt.Errorf("partner edge: the call log's secret: %w", err)
	}
	return &CallLog{batch: auditchain.NewBatcher(callLogChain, db, key, callWriter, auditchain.BatchOptions{})}, nil
}

// Append writes c, chained to the row before it, and returns once it is committed.
func (l *CallLog) Append(ctx context.Context, c Call) error {
	if err := l.batch.Append(ctx, c); err != nil {
		return fmt.Errorf("partner edge: append to the call log: %w", err)
	}
	return nil
}

// Close waits (until ctx ends) for the rows submitted to be written.
func (l *CallLog) Close(ctx context.Context) error { return l.batch.Close(ctx) }

// ReadSecret reads the call log's chain secret (base64) from file. With create set
// (dev), a missing file is made with a new secret. The secret lives outside the
// database, so whoever can write the table cannot recompute the chain.
func ReadSecret(file string, create bool) ([]byte, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && create {
		secret, err := auditchain.NewSecret(0)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, err
		}
		return secret, os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(secret)+"\n"), 0o600)
	}
	if err != nil {
		return nil, err
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: not base64: %w", file, err)
	}
	return secret, nil
}

// WriteSecret writes a new chain secret to file, refusing to replace one.
func WriteSecret(file string) error {
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("%s exists: the call log's secret is never replaced", file)
	}
	_, err := ReadSecret(file, true)
	return err
}

// VerifyCallLog walks the call log end to end and reports its first broken link. db's
// search_path is the edge's schema.
func VerifyCallLog(ctx context.Context, db *pgxpool.Pool, secret []byte) (auditchain.Report, error) {
	key, err := auditchain.NewKey(secret)
	if err != nil {
		return auditchain.Report{}, err
	}
	return callLogChain.Verify(ctx, db, key, func(q pg.Querier) iter.Seq2[auditchain.Row, error] { return callRows(ctx, q) })
}
