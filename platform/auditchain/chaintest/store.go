package chaintest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/auditchain"
	"healthcore/platform/pg"
)

// The statements a tamper test runs as the database's superuser.

// AsSuperuser runs stmt on log's table with its append-only triggers off, as a superuser
// can, and turns them on again.
func AsSuperuser(t testing.TB, db *pgxpool.Pool, log auditchain.Log, stmt string, args ...any) {
	t.Helper()
	table := pgx.Identifier{log.Table}.Sanitize()
	err := pg.InTx(context.Background(), db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `ALTER TABLE `+table+` DISABLE TRIGGER USER`); err != nil {
			return err
		}
		if _, err := tx.Exec(context.Background(), stmt, args...); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), `ALTER TABLE `+table+` ENABLE TRIGGER USER`)
		return err
	})
	if err != nil {
		t.Fatalf("as superuser: %s: %v", stmt, err)
	}
}

func rehash(t testing.TB, db *pgxpool.Pool, log auditchain.Log, id int64, prev, hash []byte) {
	t.Helper()
	AsSuperuser(t, db, log, `UPDATE `+pgx.Identifier{log.Table}.Sanitize()+` SET prev_hash = $2, row_hash = $3 WHERE id = $1`, id, prev, hash)
}

func moveHead(t testing.TB, db *pgxpool.Pool, log auditchain.Log, hash []byte) {
	t.Helper()
	if _, err := db.Exec(context.Background(), `UPDATE `+pgx.Identifier{log.Table + "_head"}.Sanitize()+` SET last_hash = $1`, hash); err != nil {
		t.Fatal(err)
	}
}
