package pix

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The sandbox's merchant: its PIX key (a random key, "EVP", in UUID form), its
// Mercado Pago user id, and the name and city its BR Codes show.
const (
	sandboxPixKey      = "5f9c1b7e-3a2d-4c8e-9b1f-7d6a0e2c4b83"
	sandboxCollectorID = 1859304672
	sandboxMerchant    = "HEALTHCORE SANDBOX"
	sandboxCity        = "SAO PAULO"
	// maxPartialRefunds is Mercado Pago's limit of partial refunds per payment.
	maxPartialRefunds = 20
)

// sbPayment is a sandbox payment row with its refunds.
type sbPayment struct {
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
	Refunds                        []sbRefund
}

type sbRefund struct {
	ID, PaymentID, AmountCents int64
	Partial                    bool
	CreatedAt                  time.Time
}

// sbError is an error answer of the sandbox API, shaped as Mercado Pago's.
type sbError struct {
	status  int
	code    string // the "error" field
	cause   int    // Mercado Pago's cause code, 0 for none
	message string
}

func (e *sbError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func badRequest(cause int, format string, args ...any) *sbError {
	return &sbError{http.StatusBadRequest, "bad_request", cause, fmt.Sprintf(format, args...)}
}

var (
	errSBNotFound = &sbError{http.StatusNotFound, "not_found", 2000, "Payment not found"}
	errSBState    = badRequest(2063, "The action requested is not valid for the current payment state")
	errSBKeyUsed  = &sbError{http.StatusConflict, "idempotency_key_already_used", 0,
		"The X-Idempotency-Key was already used with a different request"}
	errSBNotPending = &sbError{http.StatusConflict, "conflict", 0, "Only a pending payment can be approved or rejected"}
)

// sbDB is what both a pool and a transaction offer.
type sbDB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// write runs fn in a transaction that first claims the idempotency key (when there is
// one) and records what fn made, so a retry with the same key and request gets the
// same resource back and one with another request is refused. A concurrent retry waits
// on the key's row until the first commits. Failed writes keep no key.
func (s *Sandbox) write(ctx context.Context, key string, fingerprint []byte, kind string, status int,
	fn func(tx pgx.Tx) (int64, error)) (id int64, respStatus int, err error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if key != "" {
		tag, err := tx.Exec(ctx, `
			INSERT INTO idempotency_keys (key, fingerprint, kind, resource_id, status) VALUES ($1, $2, $3, 0, $4)
			ON CONFLICT (key) DO NOTHING`, key, fingerprint, kind, status)
		if err != nil {
			return 0, 0, err
		}
		if tag.RowsAffected() == 0 {
			var fp []byte
			if err := tx.QueryRow(ctx, `SELECT fingerprint, resource_id, status FROM idempotency_keys WHERE key = $1`,
				key).Scan(&fp, &id, &respStatus); err != nil {
				return 0, 0, err
			}
			if !bytes.Equal(fp, fingerprint) {
				return 0, 0, errSBKeyUsed
			}
			return id, respStatus, nil
		}
	}
	if id, err = fn(tx); err != nil {
		return 0, 0, err
	}
	if key != "" {
		if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET resource_id = $2 WHERE key = $1`, key, id); err != nil {
			return 0, 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, err
	}
	s.wake()
	return id, status, nil
}

// fingerprint identifies a request for the idempotency check.
func fingerprint(method, path string, body []byte) []byte {
	var compact bytes.Buffer
	if json.Compact(&compact, body) != nil {
		compact.Reset()
		compact.Write(body)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(compact.Bytes())
	return h.Sum(nil)
}

// insertPayment stores a new pending payment with its BR Code and QR image.
func (s *Sandbox) insertPayment(ctx context.Context, tx pgx.Tx, p *sbPayment) (int64, error) {
	if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('payments', 'id'))`).Scan(&p.ID); err != nil {
		return 0, err
	}
	p.QRCode = brCode(sandboxPixKey, p.AmountCents, sandboxMerchant, sandboxCity, "HCSBX"+strconv.FormatInt(p.ID, 10))
	qr, err := encodeQR([]byte(p.QRCode))
	if err != nil {
		return 0, err
	}
	img, err := qr.PNG(6)
	if err != nil {
		return 0, err
	}
	p.QRCodeBase64 = base64.StdEncoding.EncodeToString(img)
	p.TicketURL = fmt.Sprintf("%s/payments/%d/ticket", s.url, p.ID)
	_, err = tx.Exec(ctx, `
		INSERT INTO payments (id, status, status_detail, amount_cents, description, external_reference,
			payer_email, payer_first_name, payer_last_name, payer_id_type, payer_id_number, notification_url,
			qr_code, qr_code_base64, ticket_url, created_at, updated_at, expires_at)
		VALUES ($1, 'pending', 'pending_waiting_transfer', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)`,
		p.ID, p.AmountCents, p.Description, p.ExternalReference, p.PayerEmail, p.PayerFirstName, p.PayerLastName,
		p.PayerIDType, p.PayerIDNumber, p.NotificationURL, p.QRCode, p.QRCodeBase64, p.TicketURL, p.CreatedAt, p.ExpiresAt)
	if err != nil {
		return 0, err
	}
	return p.ID, s.enqueue(ctx, tx, p.ID, "payment.created", p.NotificationURL, p.CreatedAt)
}

const paymentColumns = `id, status, status_detail, amount_cents, refunded_cents, description, external_reference,
	payer_email, payer_first_name, payer_last_name, payer_id_type, payer_id_number, notification_url,
	qr_code, qr_code_base64, ticket_url, created_at, updated_at, expires_at, approved_at`

// loadPayment reads a payment and its refunds, locking the payment row when forUpdate.
func loadPayment(ctx context.Context, q sbDB, id int64, forUpdate bool) (*sbPayment, error) {
	sql := `SELECT ` + paymentColumns + ` FROM payments WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var p sbPayment
	err := q.QueryRow(ctx, sql, id).Scan(&p.ID, &p.Status, &p.StatusDetail, &p.AmountCents, &p.RefundedCents,
		&p.Description, &p.ExternalReference, &p.PayerEmail, &p.PayerFirstName, &p.PayerLastName, &p.PayerIDType,
		&p.PayerIDNumber, &p.NotificationURL, &p.QRCode, &p.QRCodeBase64, &p.TicketURL,
		&p.CreatedAt, &p.UpdatedAt, &p.ExpiresAt, &p.ApprovedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errSBNotFound
	}
	if err != nil {
		return nil, err
	}
	if p.Refunds, err = loadRefunds(ctx, q, id); err != nil {
		return nil, err
	}
	return &p, nil
}

func loadRefunds(ctx context.Context, q sbDB, paymentID int64) ([]sbRefund, error) {
	rows, err := q.Query(ctx, `SELECT id, payment_id, amount_cents, partial, created_at FROM refunds WHERE payment_id = $1 ORDER BY id`, paymentID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (sbRefund, error) {
		var f sbRefund
		return f, r.Scan(&f.ID, &f.PaymentID, &f.AmountCents, &f.Partial, &f.CreatedAt)
	})
}

// lockPayment expires the payment if it is due, then reads it locked for a change.
func (s *Sandbox) lockPayment(ctx context.Context, tx pgx.Tx, id int64) (*sbPayment, error) {
	if _, err := s.expire(ctx, tx, id); err != nil {
		return nil, err
	}
	return loadPayment(ctx, tx, id, true)
}

// setStatus changes a locked payment's status and announces it.
func (s *Sandbox) setStatus(ctx context.Context, tx pgx.Tx, p *sbPayment, status, detail string) error {
	now := s.now()
	var approved *time.Time
	if status == string(StatusApproved) && p.ApprovedAt == nil {
		approved = &now
	}
	_, err := tx.Exec(ctx, `
		UPDATE payments SET status = $2, status_detail = $3, updated_at = $4, approved_at = coalesce(approved_at, $5)
		WHERE id = $1`, p.ID, status, detail, now, approved)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, tx, p.ID, "payment.updated", p.NotificationURL, now)
}

// expire cancels unpaid payments past their expiry — one (id > 0) or all that are
// due — announcing each, as Mercado Pago does with status_detail "expired".
func (s *Sandbox) expire(ctx context.Context, q sbDB, id int64) (int, error) {
	now := s.now()
	rows, err := q.Query(ctx, `
		UPDATE payments SET status = 'cancelled', status_detail = 'expired', updated_at = $1
		WHERE status IN ('pending', 'in_process', 'authorized') AND expires_at <= $1 AND ($2 = 0 OR id = $2)
		RETURNING id, notification_url`, now, id)
	if err != nil {
		return 0, err
	}
	type expired struct {
		id  int64
		url string
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (expired, error) {
		var e expired
		return e, r.Scan(&e.id, &e.url)
	})
	if err != nil {
		return 0, err
	}
	for _, e := range list {
		if err := s.enqueue(ctx, q, e.id, "payment.updated", e.url, now); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}

// expireDue expires one payment (id > 0) or all that are due, in a transaction of its
// own, and returns how many it expired.
func (s *Sandbox) expireDue(ctx context.Context, id int64) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) (err error) {
		n, err = s.expire(ctx, tx, id)
		return err
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.wake()
	}
	return n, nil
}

// enqueue queues a webhook to url (the payment's, else the sandbox's default) about
// the payment, in the caller's transaction.
func (s *Sandbox) enqueue(ctx context.Context, q sbDB, paymentID int64, action, url string, at time.Time) error {
	if url == "" {
		url = s.opts.NotificationURL
	}
	if url == "" {
		return nil // nowhere to send it, as at Mercado Pago without a webhook setting
	}
	_, err := q.Exec(ctx, `INSERT INTO webhook_deliveries (payment_id, action, url, created_at) VALUES ($1, $2, $3, $4)`,
		paymentID, action, url, at)
	return err
}

// wake tells the delivery loop that webhooks were queued.
func (s *Sandbox) wake() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}
