package payments

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// changesChannel is where migration 00004's triggers announce a payment's change, with
// the appointment id as payload.
const changesChannel = "payments_changed"

// listenChanges opens a connection of its own (not one of the pool's, which it would
// hold for good) and listens on changesChannel; the caller closes it.
func listenChanges(ctx context.Context, db *pgxpool.Pool) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, db.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{changesChannel}.Sanitize()); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}
