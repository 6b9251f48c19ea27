package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// paymentStore reads and writes payments and their status history (payment_events).
// Its methods take the pool or a transaction of pg.InTx. A payment not found is
// pgx.ErrNoRows, wrapped.
type paymentStore struct{}

// payments is the store of the payment aggregate.
var payments paymentStore

// payment is a row of payments.
type payment struct {
	ID, AppointmentID, PatientID, DoctorID string
	AmountCents                            int64
	Description                            string
	Status                                 string
	ProviderPaymentID                      *string
	QRCode, QRCodeBase64, TicketURL        string
	ExpireAt                               time.Time
	PaidAt                                 *time.Time
	RefundedCents, RefundsRequestedCents   int64
	CreatedAt                              time.Time
}

// paymentEvent is a row of a payment's status history.
type paymentEvent struct {
	Status, Source, Detail string
	At                     time.Time
}

const selectPayment = `SELECT id::text, appointment_id::text, patient_id::text, doctor_id::text, amount_cents,
	description, status, provider_payment_id, qr_code, qr_code_base64, ticket_url, expire_at, paid_at, refunded_cents,
	refunds_requested_cents, created_at FROM payments`

// getPayment reads the one payment that where (a constant of this file, with the
// argument $1) selects; op says what it did, for the error.
func getPayment(ctx context.Context, q pg.Querier, where, arg, op string) (*payment, error) {
	var p payment
	err := q.QueryRow(ctx, selectPayment+` WHERE `+where, arg).Scan(&p.ID, &p.AppointmentID, &p.PatientID, &p.DoctorID,
		&p.AmountCents, &p.Description, &p.Status, &p.ProviderPaymentID, &p.QRCode, &p.QRCodeBase64, &p.TicketURL,
		&p.ExpireAt, &p.PaidAt, &p.RefundedCents, &p.RefundsRequestedCents, &p.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &p, nil
}

// get reads the payment with the id.
func (paymentStore) get(ctx context.Context, q pg.Querier, id string) (*payment, error) {
	return getPayment(ctx, q, `id = $1::uuid`, id, "get payment "+id)
}

// getForUpdate reads the payment with the id and locks it until tx ends.
func (paymentStore) getForUpdate(ctx context.Context, tx pgx.Tx, id string) (*payment, error) {
	return getPayment(ctx, tx, `id = $1::uuid FOR UPDATE`, id, "get payment "+id+" for update")
}

// getByAppointment reads the appointment's payment.
func (paymentStore) getByAppointment(ctx context.Context, q pg.Querier, appointmentID string) (*payment, error) {
	return getPayment(ctx, q, `appointment_id = $1::uuid`, appointmentID, "get payment of appointment "+appointmentID)
}

// getByAppointmentForUpdate reads the appointment's payment and locks it until tx ends.
func (paymentStore) getByAppointmentForUpdate(ctx context.Context, tx pgx.Tx, appointmentID string) (*payment, error) {
	return getPayment(ctx, tx, `appointment_id = $1::uuid FOR UPDATE`, appointmentID,
		"get payment of appointment "+appointmentID+" for update")
}

// getByCharge reads the payment whose charge has the provider's id.
func (paymentStore) getByCharge(ctx context.Context, q pg.Querier, providerPaymentID string) (*payment, error) {
	return getPayment(ctx, q, `provider_payment_id = $1`, providerPaymentID, "get payment of charge "+providerPaymentID)
}

// insert records p as CREATING, read at p.CreatedAt, unless its appointment has a
// payment already; it reports whether p was inserted.
func (paymentStore) insert(ctx context.Context, q pg.Querier, p *payment) (bool, error) {
	tag, err := q.Exec(ctx, `
		INSERT INTO payments (id, appointment_id, patient_id, doctor_id, amount_cents, description, status,
			expire_at, created_at, updated_at, last_checked_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'CREATING', $7, $8, $8, $8)
		ON CONFLICT (appointment_id) DO NOTHING`,
		p.ID, p.AppointmentID, p.PatientID, p.DoctorID, p.AmountCents, p.Description, p.ExpireAt, p.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("insert payment of appointment %s: %w", p.AppointmentID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// providerCharge is what the provider gave for a payment's charge.
type providerCharge struct {
	ProviderPaymentID, QRCode, QRCodeBase64, TicketURL string
}

// setCharge stores the charge of a CREATING payment, making it PENDING, read at now;
// it reports false when the payment was not CREATING.
func (paymentStore) setCharge(ctx context.Context, q pg.Querier, id string, c providerCharge, now time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `
		UPDATE payments SET status = 'PENDING', provider_payment_id = $2, qr_code = $3, qr_code_base64 = $4,
			ticket_url = $5, updated_at = $6, last_checked_at = $6
		WHERE id = $1 AND status = 'CREATING'`, id, c.ProviderPaymentID, c.QRCode, c.QRCodeBase64, c.TicketURL, now)
	if err != nil {
		return false, fmt.Errorf("set charge of payment %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// keepLateCharge records the id of a charge made for a payment that failed while it
// was being made, when the payment has no charge yet; it reports whether it did.
func (paymentStore) keepLateCharge(ctx context.Context, q pg.Querier, id, providerPaymentID string) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE payments SET provider_payment_id = $2
		WHERE id = $1 AND status = 'FAILED' AND provider_payment_id IS NULL`, id, providerPaymentID)
	if err != nil {
		return false, fmt.Errorf("keep late charge of payment %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// fail moves the payment from the status from to FAILED; it reports false when the
// payment was not in from.
func (paymentStore) fail(ctx context.Context, q pg.Querier, id, from string, now time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE payments SET status = 'FAILED', updated_at = $3 WHERE id = $1 AND status = $2`,
		id, from, now)
	if err != nil {
		return false, fmt.Errorf("fail payment %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// markPaid moves the payment from the status from to PAID at paidAt, keeping the
// charge's id when it had none; it reports false when the payment was not in from.
func (paymentStore) markPaid(ctx context.Context, q pg.Querier, id, from, providerPaymentID string, paidAt, now time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `
		UPDATE payments SET status = 'PAID', paid_at = $3, updated_at = $4,
			provider_payment_id = coalesce(provider_payment_id, nullif($5, ''))
		WHERE id = $1 AND status = $2`, id, from, paidAt, now, providerPaymentID)
	if err != nil {
		return false, fmt.Errorf("mark payment %s paid: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// setRefunded records the centavos given back and the status that follows.
func (paymentStore) setRefunded(ctx context.Context, q pg.Querier, id string, refundedCents int64, status string, now time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE payments SET refunded_cents = $2, status = $3, updated_at = $4 WHERE id = $1`,
		id, refundedCents, status, now); err != nil {
		return fmt.Errorf("set refunded cents of payment %s: %w", id, err)
	}
	return nil
}

// addRefundRequested adds cents to what refunds of the payment have asked for.
func (paymentStore) addRefundRequested(ctx context.Context, q pg.Querier, id string, cents int64, now time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE payments SET refunds_requested_cents = refunds_requested_cents + $2, updated_at = $3
		WHERE id = $1`, id, cents, now); err != nil {
		return fmt.Errorf("add requested refund to payment %s: %w", id, err)
	}
	return nil
}

// checked records that the provider's view of the payment's charge was read at now.
func (paymentStore) checked(ctx context.Context, q pg.Querier, id string, now time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE payments SET last_checked_at = $2 WHERE id = $1`, id, now); err != nil {
		return fmt.Errorf("set last check of payment %s: %w", id, err)
	}
	return nil
}

// listUnchecked returns the charge ids of at most limit PENDING payments not read since
// checkedBefore and not expired before expiredFrom, least recently read first.
func (paymentStore) listUnchecked(ctx context.Context, q pg.Querier, checkedBefore, expiredFrom time.Time, limit int) ([]string, error) {
	return listStrings(ctx, q, "list unchecked pending payments", `
		SELECT provider_payment_id FROM payments
		WHERE status = 'PENDING' AND last_checked_at < $1 AND expire_at >= $2
		ORDER BY last_checked_at LIMIT $3`, checkedBefore, expiredFrom, limit)
}

// listOverdue returns the ids of at most limit PENDING payments that expired before
// expiredBefore, the longest expired first.
func (paymentStore) listOverdue(ctx context.Context, q pg.Querier, expiredBefore time.Time, limit int) ([]string, error) {
	return listStrings(ctx, q, "list overdue payments", `
		SELECT id::text FROM payments WHERE status = 'PENDING' AND expire_at < $1 ORDER BY expire_at LIMIT $2`,
		expiredBefore, limit)
}

// expiredPending counts the PENDING payments whose charge expired before now, and says
// by how many seconds the longest expired one is past it (0 when none is).
func (paymentStore) expiredPending(ctx context.Context, q pg.Querier, now time.Time) (n int64, overdue float64, err error) {
	err = q.QueryRow(ctx, `
		SELECT count(*), COALESCE(EXTRACT(EPOCH FROM $1::timestamptz - min(expire_at)), 0)::float8
		FROM payments WHERE status = 'PENDING' AND expire_at < $1`, now).Scan(&n, &overdue)
	if err != nil {
		return 0, 0, fmt.Errorf("count expired pending payments: %w", err)
	}
	return n, overdue, nil
}

// listStrings runs a query of one text column and returns its values; op says what it
// did, for the error.
func listStrings(ctx context.Context, q pg.Querier, op, sql string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// addEvent appends to the payment's status history.
func (paymentStore) addEvent(ctx context.Context, q pg.Querier, paymentID string, e paymentEvent) error {
	if _, err := q.Exec(ctx, `INSERT INTO payment_events (payment_id, status, source, detail, at) VALUES ($1, $2, $3, $4, $5)`,
		paymentID, e.Status, e.Source, e.Detail, e.At); err != nil {
		return fmt.Errorf("insert %s event of payment %s: %w", e.Status, paymentID, err)
	}
	return nil
}

// history returns the payment's status history, oldest first.
func (paymentStore) history(ctx context.Context, q pg.Querier, paymentID string) ([]paymentEvent, error) {
	rows, err := q.Query(ctx, `SELECT status, source, detail, at FROM payment_events WHERE payment_id = $1 ORDER BY id`, paymentID)
	if err != nil {
		return nil, fmt.Errorf("list events of payment %s: %w", paymentID, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (paymentEvent, error) {
		var e paymentEvent
		err := r.Scan(&e.Status, &e.Source, &e.Detail, &e.At)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list events of payment %s: %w", paymentID, err)
	}
	return events, nil
}

// listIDsByPatient lists the ids of a patient's payments, oldest first.
func (paymentStore) listIDsByPatient(ctx context.Context, q pg.Querier, patientID string) ([]string, error) {
	return listStrings(ctx, q, "list payments of patient", `SELECT id::text FROM payments
		WHERE patient_id = $1::uuid ORDER BY created_at, id`, patientID)
}

// holdByPatient marks a patient's payments as kept until until; a later date already
// there stays. It returns how many payments carry a hold.
func (paymentStore) holdByPatient(ctx context.Context, q pg.Querier, patientID string, until time.Time) (int64, error) {
	if _, err := q.Exec(ctx, `UPDATE payments SET retention_until = $2
		WHERE patient_id = $1::uuid AND (retention_until IS NULL OR retention_until < $2)`, patientID, until); err != nil {
		return 0, fmt.Errorf("hold payments of patient: %w", err)
	}
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM payments WHERE patient_id = $1::uuid AND retention_until IS NOT NULL`, patientID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count held payments of patient: %w", err)
	}
	return n, nil
}
