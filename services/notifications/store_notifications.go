package notifications

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
)

// notificationStore keeps the notifications and, per channel, their deliveries.
type notificationStore struct{}

// notification is one row of notifications with its deliveries.
type notification struct {
	id, key, recipientID string
	event                notificationsv1.Event
	request              []byte // NotifyRequest, protojson
	status               notificationsv1.NotificationStatus
	subject              string
	created, scheduled   time.Time
	sent                 *time.Time
	deliveries           []delivery
}

// delivery is one row of deliveries.
type delivery struct {
	channel    notificationsv1.Channel
	status     notificationsv1.DeliveryStatus
	providerID *string
	failure    string
	fallback   bool
	attempts   int
	updated    time.Time
}

// find returns the notification's delivery by channel, or nil.
func (n *notification) find(ch notificationsv1.Channel) *delivery {
	for i := range n.deliveries {
		if n.deliveries[i].channel == ch {
			return &n.deliveries[i]
		}
	}
	return nil
}

const notificationColumns = `id::text, idempotency_key, event, recipient_id::text, request, status, subject,
	created_at, scheduled_at, sent_at`

func scanNotification(row pgx.Row) (notification, error) {
	var n notification
	err := row.Scan(&n.id, &n.key, &n.event, &n.recipientID, &n.request, &n.status, &n.subject,
		&n.created, &n.scheduled, &n.sent)
	return n, err
}

// insert stores n unless its idempotency key is taken; inserted tells which.
func (notificationStore) insert(ctx context.Context, q pg.Querier, n notification) (inserted bool, err error) {
	tag, err := q.Exec(ctx, `INSERT INTO notifications (id, idempotency_key, event, recipient_id, request, status, created_at, scheduled_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING`,
		n.id, n.key, n.event, n.recipientID, n.request, n.status, n.created, n.scheduled)
	if err != nil {
		return false, fmt.Errorf("insert notification: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// byKey reads the notification of an idempotency key with its deliveries; none is
// pgx.ErrNoRows.
func (s notificationStore) byKey(ctx context.Context, q pg.Querier, key string) (notification, error) {
	n, err := scanNotification(q.QueryRow(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE idempotency_key = $1`, key))
	if err != nil {
		return notification{}, fmt.Errorf("select notification by key: %w", err)
	}
	return n, s.loadDeliveries(ctx, q, []*notification{&n})
}

// get reads a notification with its deliveries; forUpdate locks its row until the
// transaction ends. None is pgx.ErrNoRows.
func (s notificationStore) get(ctx context.Context, q pg.Querier, id string, forUpdate bool) (notification, error) {
	sql := `SELECT ` + notificationColumns + ` FROM notifications WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	n, err := scanNotification(q.QueryRow(ctx, sql, id))
	if err != nil {
		return notification{}, fmt.Errorf("select notification: %w", err)
	}
	return n, s.loadDeliveries(ctx, q, []*notification{&n})
}

// list reads a recipient's notifications newest first, after the cursor, at most limit.
func (s notificationStore) list(ctx context.Context, q pg.Querier, recipientID string, after *pagetoken.Cursor, limit int) ([]*notification, error) {
	args := []any{recipientID, limit}
	where := `recipient_id = $1`
	if after != nil {
		where += ` AND (created_at, id) < ($3, $4)`
		args = append(args, after.Time(), after.ID)
	}
	rows, err := q.Query(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+where+`
		ORDER BY created_at DESC, id DESC LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	var out []*notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan notification: %w", err)
		}
		out = append(out, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return out, s.loadDeliveries(ctx, q, out)
}

func (notificationStore) loadDeliveries(ctx context.Context, q pg.Querier, ns []*notification) error {
	if len(ns) == 0 {
		return nil
	}
	ids := make([]string, len(ns))
	byID := map[string]*notification{}
	for i, n := range ns {
		ids[i], byID[n.id] = n.id, n
	}
	rows, err := q.Query(ctx, `SELECT notification_id::text, channel, status, provider_message_id, failure, fallback, attempts, updated_at
		FROM deliveries WHERE notification_id = ANY($1::uuid[]) ORDER BY channel`, ids)
	if err != nil {
		return fmt.Errorf("select deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var d delivery
		if err := rows.Scan(&id, &d.channel, &d.status, &d.providerID, &d.failure, &d.fallback, &d.attempts, &d.updated); err != nil {
			return fmt.Errorf("scan delivery: %w", err)
		}
		byID[id].deliveries = append(byID[id].deliveries, d)
	}
	return rows.Err()
}

// setOutcome records a notification's status and subject, and its first send time
// when sent is set and none was recorded.
func (notificationStore) setOutcome(ctx context.Context, q pg.Querier, id string, st notificationsv1.NotificationStatus, subject string, sent *time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE notifications SET status = $2, subject = CASE WHEN $3 = '' THEN subject ELSE $3 END,
		sent_at = COALESCE(sent_at, $4) WHERE id = $1`, id, st, subject, sent); err != nil {
		return fmt.Errorf("update notification: %w", err)
	}
	return nil
}

// reschedule moves a notification's delivery time (quiet hours).
func (notificationStore) reschedule(ctx context.Context, q pg.Querier, id string, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE notifications SET scheduled_at = $2 WHERE id = $1`, id, at); err != nil {
		return fmt.Errorf("reschedule notification: %w", err)
	}
	return nil
}

// markSending records, before the provider is called, that a channel's message is
// being sent (creating its delivery row), counting the attempt.
func (notificationStore) markSending(ctx context.Context, q pg.Querier, id string, ch notificationsv1.Channel, fallback bool, at time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO deliveries (notification_id, channel, status, fallback, attempts, updated_at)
		VALUES ($1, $2, $3, $4, 1, $5)
		ON CONFLICT (notification_id, channel) DO UPDATE SET status = EXCLUDED.status, attempts = deliveries.attempts + 1, updated_at = EXCLUDED.updated_at`,
		id, ch, notificationsv1.DeliveryStatus_DELIVERY_STATUS_SENDING, fallback, at); err != nil {
		return fmt.Errorf("mark delivery sending: %w", err)
	}
	return nil
}

// markSent records the provider's message id of a channel's message.
func (notificationStore) markSent(ctx context.Context, q pg.Querier, id string, ch notificationsv1.Channel, providerID string, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE deliveries SET status = $3, provider_message_id = $4, failure = '', updated_at = $5
		WHERE notification_id = $1 AND channel = $2`,
		id, ch, notificationsv1.DeliveryStatus_DELIVERY_STATUS_SENT, providerID, at); err != nil {
		return fmt.Errorf("mark delivery sent: %w", err)
	}
	return nil
}

// markFailed records a channel's permanent failure (creating the row when the channel
// could not even be tried, e.g. no phone number).
func (notificationStore) markFailed(ctx context.Context, q pg.Querier, id string, ch notificationsv1.Channel, fallback bool, failure string, at time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO deliveries (notification_id, channel, status, fallback, failure, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (notification_id, channel) DO UPDATE SET status = EXCLUDED.status, failure = EXCLUDED.failure, updated_at = EXCLUDED.updated_at`,
		id, ch, notificationsv1.DeliveryStatus_DELIVERY_STATUS_FAILED, fallback, failure, at); err != nil {
		return fmt.Errorf("mark delivery failed: %w", err)
	}
	return nil
}

// providerStatus applies a provider's status report to the delivery with that message
// id, never moving it backwards (SENT < DELIVERED < READ; FAILED only from SENT or
// DELIVERED, as a late bounce). It returns the notification id, and updated false when
// nothing changed; no such delivery is pgx.ErrNoRows.
func (notificationStore) providerStatus(ctx context.Context, q pg.Querier, ch notificationsv1.Channel, providerID string,
	st notificationsv1.DeliveryStatus, failure string, at time.Time) (notificationID string, updated bool, err error) {
	err = q.QueryRow(ctx, `SELECT notification_id::text FROM deliveries WHERE channel = $1 AND provider_message_id = $2`,
		ch, providerID).Scan(&notificationID)
	if err != nil {
		return "", false, fmt.Errorf("select delivery by provider id: %w", err)
	}
	var rank string
	if st == notificationsv1.DeliveryStatus_DELIVERY_STATUS_FAILED {
		rank = `status IN ($5, $6) AND status <> $7` // SENT or DELIVERED: a read message did not fail
	} else {
		rank = `status IN ($5, $6, $7) AND status < $3` // not FAILED, and forward only
	}
	tag, err := q.Exec(ctx, `UPDATE deliveries SET status = $3, failure = $4, updated_at = $8
		WHERE channel = $1 AND provider_message_id = $2 AND `+rank,
		ch, providerID, st, failure,
		notificationsv1.DeliveryStatus_DELIVERY_STATUS_SENT, notificationsv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
		notificationsv1.DeliveryStatus_DELIVERY_STATUS_READ, at)
	if err != nil {
		return "", false, fmt.Errorf("update delivery status: %w", err)
	}
	return notificationID, tag.RowsAffected() == 1, nil
}

var errNotFound = pgx.ErrNoRows

func isNotFound(err error) bool { return errors.Is(err, errNotFound) }

// heldStatus is a provider status kept until its message's id is recorded.
type heldStatus struct {
	status  notificationsv1.DeliveryStatus
	failure string
	at      time.Time
}

// hold keeps a status for a provider message id not recorded yet.
func (notificationStore) hold(ctx context.Context, q pg.Querier, ch notificationsv1.Channel, providerID string, h heldStatus) error {
	if _, err := q.Exec(ctx, `INSERT INTO held_statuses (channel, provider_message_id, status, failure, at) VALUES ($1, $2, $3, $4, $5)`,
		ch, providerID, h.status, h.failure, h.at); err != nil {
		return fmt.Errorf("hold status: %w", err)
	}
	return nil
}

// takeHeld removes and returns the statuses held for a provider message id, in the
// order they arrived.
func (notificationStore) takeHeld(ctx context.Context, q pg.Querier, ch notificationsv1.Channel, providerID string) ([]heldStatus, error) {
	rows, err := q.Query(ctx, `DELETE FROM held_statuses WHERE channel = $1 AND provider_message_id = $2 RETURNING status, failure, at, id`,
		ch, providerID)
	if err != nil {
		return nil, fmt.Errorf("take held statuses: %w", err)
	}
	type row struct {
		h  heldStatus
		id int64
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.h.status, &x.h.failure, &x.h.at, &x.id)
	})
	if err != nil {
		return nil, fmt.Errorf("take held statuses: %w", err)
	}
	slices.SortFunc(rs, func(a, b row) int { return cmp.Compare(a.id, b.id) })
	out := make([]heldStatus, len(rs))
	for i, r := range rs {
		out[i] = r.h
	}
	return out, nil
}

// acquireLease gives the caller the notification until until, unless another job holds
// it (its lease not yet expired at now).
func (notificationStore) acquireLease(ctx context.Context, q pg.Querier, id string, now, until time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE notifications SET lease_until = $3 WHERE id = $1 AND (lease_until IS NULL OR lease_until <= $2)`, id, now, until)
	if err != nil {
		return false, fmt.Errorf("acquire lease: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// releaseLease lets the next job have the notification.
func (notificationStore) releaseLease(ctx context.Context, q pg.Querier, id string) error {
	if _, err := q.Exec(ctx, `UPDATE notifications SET lease_until = NULL WHERE id = $1`, id); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// lockProviderMessage serialises, until tx ends, the transactions that touch one
// provider message id: recording it after a send, and a status webhook about it (so a
// status is either applied or held, never lost between the two).
func (notificationStore) lockProviderMessage(ctx context.Context, tx pgx.Tx, ch notificationsv1.Channel, providerID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, $2))`, providerID, int64(ch)); err != nil {
		return fmt.Errorf("lock provider message: %w", err)
	}
	return nil
}

// pruneHeld forgets the held statuses that arrived before cutoff.
func (notificationStore) pruneHeld(ctx context.Context, q pg.Querier, cutoff time.Time) error {
	if _, err := q.Exec(ctx, `DELETE FROM held_statuses WHERE at < $1`, cutoff); err != nil {
		return fmt.Errorf("prune held statuses: %w", err)
	}
	return nil
}

// suppressPending marks the recipient's notifications not yet sent as suppressed: the
// delivery job of each then sends nothing.
func (notificationStore) suppressPending(ctx context.Context, q pg.Querier, recipientID string) error {
	if _, err := q.Exec(ctx, `UPDATE notifications SET status = $2 WHERE recipient_id = $1 AND status = $3`, recipientID,
		notificationsv1.NotificationStatus_NOTIFICATION_STATUS_SUPPRESSED, notificationsv1.NotificationStatus_NOTIFICATION_STATUS_PENDING); err != nil {
		return fmt.Errorf("suppress pending notifications: %w", err)
	}
	return nil
}
