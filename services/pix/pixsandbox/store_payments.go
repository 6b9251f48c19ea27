package pixsandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// paymentStore keeps the sandbox's payments. Amounts are centavos. A payment not found
// is pgx.ErrNoRows, wrapped.
type paymentStore struct{}

var payments paymentStore

// payment is a row of payments, with its refunds when read through readPayment.
type payment struct {
	ID                             int64
	Status, StatusDetail           string
	AmountCents, RefundedCents     int64
	Description, ExternalReference string
	PayerEmail, PayerFirstName     string
	PayerLastName                  string
	PayerIDType, PayerIDNumber     string
	NotificationURL                string
	QRCode, QRCodeBase64           string
	TicketURL                      string
	CreatedAt, UpdatedAt           time.Time
	ExpiresAt                      time.Time
	ApprovedAt                     *time.Time
	Refunds                        []refund
}

// expiredPayment is a payment expire just cancelled, for its webhook.
type expiredPayment struct {
	ID              int64
	NotificationURL string
}

const selectPayment = `SELECT id, status, status_detail, amount_cents, refunded_cents, description, external_reference,
	payer_email, payer_first_name, payer_last_name, payer_id_type, payer_id_number, notification_url,
	qr_code, qr_code_base64, ticket_url, created_at, updated_at, expires_at, approved_at FROM payments`

func scanPayment(row pgx.Row) (*payment, error) {
	var p payment
	err := row.Scan(&p.ID, &p.Status, &p.StatusDetail, &p.AmountCents, &p.RefundedCents,
		&p.Description, &p.ExternalReference, &p.PayerEmail, &p.PayerFirstName, &p.PayerLastName, &p.PayerIDType,
		&p.PayerIDNumber, &p.NotificationURL, &p.QRCode, &p.QRCodeBase64, &p.TicketURL,
		&p.CreatedAt, &p.UpdatedAt, &p.ExpiresAt, &p.ApprovedAt)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// nextID takes the id of a payment about to be inserted, so its BR Code can name it.
func (paymentStore) nextID(ctx context.Context, q pg.Querier) (int64, error) {
	var id int64
	if err := q.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('payments', 'id'))`).Scan(&id); err != nil {
		return 0, fmt.Errorf("next payment id: %w", err)
	}
	return id, nil
}

// insert stores p, with the id nextID gave, as pending_waiting_transfer; its
// refunded amount starts at 0 and UpdatedAt is CreatedAt.
func (paymentStore) insert(ctx context.Context, q pg.Querier, p *payment) error {
	_, err := q.Exec(ctx, `
		INSERT INTO payments (id, status, status_detail, amount_cents, description, external_reference,
			payer_email, payer_first_name, payer_last_name, payer_id_type, payer_id_number, notification_url,
			qr_code, qr_code_base64, ticket_url, created_at, updated_at, expires_at)
		VALUES ($1, 'pending', 'pending_waiting_transfer', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)`,
		p.ID, p.AmountCents, p.Description, p.ExternalReference, p.PayerEmail, p.PayerFirstName, p.PayerLastName,
		p.PayerIDType, p.PayerIDNumber, p.NotificationURL, p.QRCode, p.QRCodeBase64, p.TicketURL, p.CreatedAt, p.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert payment: %w", err)
	}
	return nil
}

// get reads payment id, without its refunds.
func (paymentStore) get(ctx context.Context, q pg.Querier, id int64) (*payment, error) {
	p, err := scanPayment(q.QueryRow(ctx, selectPayment+` WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get payment %d: %w", id, err)
	}
	return p, nil
}

// getForUpdate reads payment id, without its refunds, and locks it until tx ends.
func (paymentStore) getForUpdate(ctx context.Context, tx pgx.Tx, id int64) (*payment, error) {
	p, err := scanPayment(tx.QueryRow(ctx, selectPayment+` WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return nil, fmt.Errorf("get payment %d for update: %w", id, err)
	}
	return p, nil
}

// setStatus sets payment id's status and detail as of at; approvedAt, when not nil,
// becomes its approval time unless it has one.
func (paymentStore) setStatus(ctx context.Context, q pg.Querier, id int64, status, detail string, at time.Time, approvedAt *time.Time) error {
	_, err := q.Exec(ctx, `
		UPDATE payments SET status = $2, status_detail = $3, updated_at = $4, approved_at = coalesce(approved_at, $5)
		WHERE id = $1`, id, status, detail, at, approvedAt)
	if err != nil {
		return fmt.Errorf("set payment status: %w", err)
	}
	return nil
}

// addRefunded adds cents to what payment id has refunded.
func (paymentStore) addRefunded(ctx context.Context, q pg.Querier, id, cents int64) error {
	if _, err := q.Exec(ctx, `UPDATE payments SET refunded_cents = refunded_cents + $2 WHERE id = $1`, id, cents); err != nil {
		return fmt.Errorf("add refunded amount: %w", err)
	}
	return nil
}

// expireDue cancels, with status_detail "expired", every unpaid payment (pending, in
// process or authorized) whose expiry is at or before now, and returns them.
func (paymentStore) expireDue(ctx context.Context, q pg.Querier, now time.Time) ([]expiredPayment, error) {
	return collectExpired(q.Query(ctx, `
		UPDATE payments SET status = 'cancelled', status_detail = 'expired', updated_at = $1
		WHERE status IN ('pending', 'in_process', 'authorized') AND expires_at <= $1
		RETURNING id, notification_url`, now))
}

// expireIfDue does what expireDue does, for payment id only.
func (paymentStore) expireIfDue(ctx context.Context, q pg.Querier, id int64, now time.Time) ([]expiredPayment, error) {
	return collectExpired(q.Query(ctx, `
		UPDATE payments SET status = 'cancelled', status_detail = 'expired', updated_at = $1
		WHERE status IN ('pending', 'in_process', 'authorized') AND expires_at <= $1 AND id = $2
		RETURNING id, notification_url`, now, id))
}

func collectExpired(rows pgx.Rows, err error) ([]expiredPayment, error) {
	if err != nil {
		return nil, fmt.Errorf("expire payments: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (expiredPayment, error) {
		var e expiredPayment
		return e, r.Scan(&e.ID, &e.NotificationURL)
	})
	if err != nil {
		return nil, fmt.Errorf("expire payments: %w", err)
	}
	return list, nil
}
