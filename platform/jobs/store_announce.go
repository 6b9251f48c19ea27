package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// insertTopic is River's channel for "jobs were inserted in this queue", prefixed by
// the schema; its workers listen on it and fetch when told.
const insertTopic = "river_insert"

// announce notifies queue's workers that it has a job due, in River's own payload (the
// same text as River's notification, so PostgreSQL folds the two of one transaction).
// In a transaction, the notification is sent when it commits, and not if it does not.
func announce(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, channel, queue string) error {
	_, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, fmt.Sprintf("{\"queue\": %q}", queue))
	return err
}
