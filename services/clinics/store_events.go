package clinics

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
)

// eventStore keeps the clinics' event endpoints, the events published and their
// deliveries (the delivery log).
type eventStore struct{}

// endpoint is an event endpoint row.
type endpoint struct {
	ID, ClinicID, URL string
	Types             []string // EventType names
	Secret, Previous  []byte   // sealed; Previous nil when none
	PreviousUntil     *time.Time
	CreatedAt         time.Time
	Deleted           bool
}

// storedEvent is an event as published.
type storedEvent struct {
	ID, AppointmentID, DoctorID, Type string
	Sequence                          int
	Body                              []byte // the PartnerEvent's protojson, sent as is
	ReceivedAt                        time.Time
}

// delivery is a delivery row; the send fields (Body, URL, secrets) only from forSend.
type delivery struct {
	ID, EndpointID, EventID, AppointmentID, Type string
	Sequence, Attempts, LastStatus               int
	State, LastError                             string
	NextAttemptAt, DeliveredAt                   *time.Time
	RetryUntil, CreatedAt                        time.Time
}

const endpointColumns = `id::text, clinic_id::text, url, types, secret_sealed, previous_secret_sealed, previous_until, created_at, deleted_at IS NOT NULL`

func scanEndpoints(rows pgx.Rows) ([]endpoint, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (endpoint, error) {
		var e endpoint
		err := row.Scan(&e.ID, &e.ClinicID, &e.URL, &e.Types, &e.Secret, &e.Previous, &e.PreviousUntil, &e.CreatedAt, &e.Deleted)
		return e, err
	})
}

// insertEndpoint stores a new endpoint.
func (eventStore) insertEndpoint(ctx context.Context, q pg.Querier, e endpoint) error {
	if _, err := q.Exec(ctx, `INSERT INTO event_endpoints (id, clinic_id, url, types, secret_sealed, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.ID, e.ClinicID, e.URL, e.Types, e.Secret, e.CreatedAt); err != nil {
		return fmt.Errorf("insert event endpoint: %w", err)
	}
	return nil
}

// endpoints lists the clinic's endpoints not deleted, oldest first.
func (eventStore) endpoints(ctx context.Context, q pg.Querier, clinicID string) ([]endpoint, error) {
	rows, err := q.Query(ctx, `SELECT `+endpointColumns+` FROM event_endpoints
		WHERE clinic_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`, clinicID)
	if err != nil {
		return nil, fmt.Errorf("select event endpoints: %w", err)
	}
	return scanEndpoints(rows)
}

// endpoint returns the clinic's endpoint, not deleted, locked until the transaction ends
// when forUpdate; false when the clinic has no such endpoint.
func (eventStore) endpoint(ctx context.Context, q pg.Querier, clinicID, id string, forUpdate bool) (endpoint, bool, error) {
	lock := ""
	if forUpdate {
		lock = " FOR UPDATE"
	}
	rows, err := q.Query(ctx, `SELECT `+endpointColumns+` FROM event_endpoints
		WHERE id = $1 AND clinic_id = $2 AND deleted_at IS NULL`+lock, id, clinicID)
	if err != nil {
		return endpoint{}, false, fmt.Errorf("select event endpoint: %w", err)
	}
	list, err := scanEndpoints(rows)
	if err != nil || len(list) == 0 {
		return endpoint{}, false, err
	}
	return list[0], true, nil
}

// endpointByID returns an endpoint whatever its clinic, deleted ones too (for sending).
func (eventStore) endpointByID(ctx context.Context, q pg.Querier, id string) (endpoint, error) {
	rows, err := q.Query(ctx, `SELECT `+endpointColumns+` FROM event_endpoints WHERE id = $1`, id)
	if err != nil {
		return endpoint{}, fmt.Errorf("select event endpoint: %w", err)
	}
	list, err := scanEndpoints(rows)
	if err == nil && len(list) != 1 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return endpoint{}, fmt.Errorf("select event endpoint: %w", err)
	}
	return list[0], nil
}

// deleteEndpoint marks the clinic's endpoint deleted; false when it has none such.
func (eventStore) deleteEndpoint(ctx context.Context, q pg.Querier, clinicID, id string, at time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE event_endpoints SET deleted_at = $3
		WHERE id = $1 AND clinic_id = $2 AND deleted_at IS NULL`, id, clinicID, at)
	if err != nil {
		return false, fmt.Errorf("delete event endpoint: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// rotate replaces the endpoint's secret, keeping the old one until until.
func (eventStore) rotate(ctx context.Context, q pg.Querier, id string, secret, previous []byte, until time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE event_endpoints SET secret_sealed = $2, previous_secret_sealed = $3, previous_until = $4
		WHERE id = $1`, id, secret, previous, until); err != nil {
		return fmt.Errorf("rotate event endpoint secret: %w", err)
	}
	return nil
}

// insertEvent stores an event once: false when its id (or its appointment's sequence)
// is stored already.
func (eventStore) insertEvent(ctx context.Context, q pg.Querier, e storedEvent) (bool, error) {
	tag, err := q.Exec(ctx, `INSERT INTO events (id, appointment_id, sequence, doctor_id, type, body, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		e.ID, e.AppointmentID, e.Sequence, e.DoctorID, e.Type, e.Body, e.ReceivedAt)
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// event returns a stored event.
func (eventStore) event(ctx context.Context, q pg.Querier, id string) (storedEvent, error) {
	var e storedEvent
	err := q.QueryRow(ctx, `SELECT id::text, appointment_id::text, sequence, doctor_id::text, type, body, received_at
		FROM events WHERE id = $1`, id).Scan(&e.ID, &e.AppointmentID, &e.Sequence, &e.DoctorID, &e.Type, &e.Body, &e.ReceivedAt)
	if err != nil {
		return e, fmt.Errorf("select event: %w", err)
	}
	return e, nil
}

// subscribers lists the endpoints, not deleted, subscribed to the type, of every
// clinic the doctor is ACTIVE with.
func (eventStore) subscribers(ctx context.Context, q pg.Querier, doctorID, eventType string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT e.id::text FROM event_endpoints e
		JOIN affiliations a ON a.clinic_id = e.clinic_id AND a.doctor_id = $1 AND a.state = 'active'
		WHERE e.deleted_at IS NULL AND $2 = ANY (e.types) ORDER BY e.id`, doctorID, eventType)
	if err != nil {
		return nil, fmt.Errorf("select subscribers: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// insertDelivery queues an event for an endpoint.
func (eventStore) insertDelivery(ctx context.Context, q pg.Querier, d delivery) error {
	if _, err := q.Exec(ctx, `INSERT INTO event_deliveries (id, endpoint_id, event_id, appointment_id, sequence, state,
		next_attempt_at, retry_until, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $6)`,
		d.ID, d.EndpointID, d.EventID, d.AppointmentID, d.Sequence, d.CreatedAt, d.RetryUntil); err != nil {
		return fmt.Errorf("insert delivery: %w", err)
	}
	return nil
}

const deliveryColumns = `d.id::text, d.endpoint_id::text, d.event_id::text, d.appointment_id::text, v.type, d.sequence,
	d.attempts, d.last_status, d.state, d.last_error, d.next_attempt_at, d.delivered_at, d.retry_until, d.created_at`

func scanDeliveries(rows pgx.Rows) ([]delivery, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (delivery, error) {
		var d delivery
		err := row.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.AppointmentID, &d.Type, &d.Sequence, &d.Attempts, &d.LastStatus,
			&d.State, &d.LastError, &d.NextAttemptAt, &d.DeliveredAt, &d.RetryUntil, &d.CreatedAt)
		return d, err
	})
}

// delivery returns a delivery; false when there is none.
func (eventStore) delivery(ctx context.Context, q pg.Querier, id string) (delivery, bool, error) {
	rows, err := q.Query(ctx, `SELECT `+deliveryColumns+` FROM event_deliveries d JOIN events v ON v.id = d.event_id
		WHERE d.id = $1`, id)
	if err != nil {
		return delivery{}, false, fmt.Errorf("select delivery: %w", err)
	}
	list, err := scanDeliveries(rows)
	if err != nil || len(list) == 0 {
		return delivery{}, false, err
	}
	return list[0], true, nil
}

// ahead says what an appointment's delivery must wait for: the earliest next attempt
// of the endpoint's deliveries of the appointment's earlier events still pending
// (pending true), and how many earlier events of the appointment are stored at all.
func (eventStore) ahead(ctx context.Context, q pg.Querier, d delivery) (pending bool, next *time.Time, earlier int, err error) {
	err = q.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM event_deliveries WHERE endpoint_id = $1 AND appointment_id = $2 AND sequence < $3 AND state = 'pending'),
		(SELECT min(next_attempt_at) FROM event_deliveries WHERE endpoint_id = $1 AND appointment_id = $2 AND sequence < $3 AND state = 'pending'),
		(SELECT count(*) FROM events WHERE appointment_id = $2 AND sequence < $3)`,
		d.EndpointID, d.AppointmentID, d.Sequence).Scan(&pending, &next, &earlier)
	if err != nil {
		err = fmt.Errorf("select deliveries ahead: %w", err)
	}
	return pending, next, earlier, err
}

// attempt records an attempt's outcome: the state after it, the HTTP status (0 for
// none), the error, and the next attempt (pending) or the delivery time (delivered).
func (eventStore) attempt(ctx context.Context, q pg.Querier, id, state string, status int, errText string, next, delivered *time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE event_deliveries SET attempts = attempts + 1, state = $2, last_status = $3,
		last_error = $4, next_attempt_at = $5, delivered_at = $6 WHERE id = $1 AND state = 'pending'`,
		id, state, status, errText, next, delivered); err != nil {
		return fmt.Errorf("update delivery: %w", err)
	}
	return nil
}

// abandon fails a pending delivery without an attempt (its endpoint was deleted).
func (eventStore) abandon(ctx context.Context, q pg.Querier, id, why string) error {
	if _, err := q.Exec(ctx, `UPDATE event_deliveries SET state = 'failed', last_error = $2, next_attempt_at = NULL
		WHERE id = $1 AND state = 'pending'`, id, why); err != nil {
		return fmt.Errorf("abandon delivery: %w", err)
	}
	return nil
}

// deliveryFilter is what ListEventDeliveries reads.
type deliveryFilter struct {
	ClinicID, EndpointID, EventID string // the last two optional
	After                         *pagetoken.Cursor
	Limit                         int
}

// deliveries lists the clinic's deliveries, newest first.
func (eventStore) deliveries(ctx context.Context, q pg.Querier, f deliveryFilter) ([]delivery, error) {
	var afterT *time.Time
	var afterID *string
	if f.After != nil {
		t, id := f.After.Time(), f.After.ID
		afterT, afterID = &t, &id
	}
	rows, err := q.Query(ctx, `SELECT `+deliveryColumns+` FROM event_deliveries d
		JOIN events v ON v.id = d.event_id
		JOIN event_endpoints e ON e.id = d.endpoint_id AND e.clinic_id = $1
		WHERE ($2::uuid IS NULL OR d.endpoint_id = $2) AND ($3::uuid IS NULL OR d.event_id = $3)
		  AND ($4::timestamptz IS NULL OR (d.created_at, d.id) < ($4, $5::uuid))
		ORDER BY d.created_at DESC, d.id DESC LIMIT $6`,
		f.ClinicID, nullable(f.EndpointID), nullable(f.EventID), afterT, afterID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("select deliveries: %w", err)
	}
	return scanDeliveries(rows)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// replay makes pending again, retried until retryUntil, the clinic's deliveries named:
// one by id, or every delivery of an endpoint (not deleted) queued since a time. It
// returns their ids, and the ids of those that were not pending already (whose job
// has ended, so they need a new one).
func (eventStore) replay(ctx context.Context, q pg.Querier, clinicID, deliveryID, endpointID string, since *time.Time, now, retryUntil time.Time) (all, settled []string, err error) {
	rows, err := q.Query(ctx, `UPDATE event_deliveries d SET state = 'pending', next_attempt_at = $5, retry_until = $6,
		delivered_at = NULL
		FROM event_endpoints e, event_deliveries old
		WHERE old.id = d.id AND e.id = d.endpoint_id AND e.clinic_id = $1 AND e.deleted_at IS NULL
		  AND ($2::uuid IS NULL OR d.id = $2)
		  AND ($3::uuid IS NULL OR (d.endpoint_id = $3 AND d.created_at >= $4))
		RETURNING d.id::text, old.state <> 'pending'`, clinicID, nullable(deliveryID), nullable(endpointID), since, now, retryUntil)
	if err != nil {
		return nil, nil, fmt.Errorf("replay deliveries: %w", err)
	}
	var id string
	var wasSettled bool
	_, err = pgx.ForEachRow(rows, []any{&id, &wasSettled}, func() error {
		all = append(all, id)
		if wasSettled {
			settled = append(settled, id)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("replay deliveries: %w", err)
	}
	return all, settled, nil
}

// prune deletes, up to limit rows each, the deliveries settled (delivered or failed)
// queued before before, then the events no delivery refers to whose appointment has
// had no event since before (an appointment's events go together, so the order of a
// later one never waits for a pruned predecessor). It returns the rows deleted.
func (eventStore) prune(ctx context.Context, q pg.Querier, before time.Time, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM event_deliveries WHERE id IN (
		SELECT id FROM event_deliveries WHERE state <> 'pending' AND created_at < $1 LIMIT $2)`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	n := tag.RowsAffected()
	tag, err = q.Exec(ctx, `DELETE FROM events WHERE id IN (
		SELECT e.id FROM events e WHERE e.received_at < $1
		  AND NOT EXISTS (SELECT 1 FROM events later WHERE later.appointment_id = e.appointment_id AND later.received_at >= $1)
		  AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id)
		LIMIT $2)`, before, limit)
	if err != nil {
		return n, fmt.Errorf("prune events: %w", err)
	}
	return n + tag.RowsAffected(), nil
}
