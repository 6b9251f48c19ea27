package pixsandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// The sandbox's merchant: its PIX key (a random key, "EVP", in UUID form), its
// Mercado Pago user id, and the name and city its BR Codes show.
const (
	pixKey      = "5f9c1b7e-3a2d-4c8e-9b1f-7d6a0e2c4b83"
	collectorID = 1859304672
	merchant    = "HEALTHCORE SANDBOX"
	city        = "SAO PAULO"
	// maxPartialRefunds is Mercado Pago's limit of partial refunds per payment.
	maxPartialRefunds = 20
)

// write runs fn in a transaction that first claims the idempotency key (when there is
// one) and records what fn made, so a retry with the same key and request gets the
// same resource back and one with another request is refused. A concurrent retry waits
// on the key's row until the first commits. Failed writes keep no key.
func (s *Sandbox) write(ctx context.Context, key string, fingerprint []byte, kind string, status int,
	fn func(tx pgx.Tx) (int64, error)) (id int64, respStatus int, err error) {
	var made bool
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		made = false
		if key != "" {
			claimed, err := idempotencyKeys.claim(ctx, tx, key, fingerprint, kind, status)
			if err != nil {
				return err
			}
			if !claimed {
				use, err := idempotencyKeys.get(ctx, tx, key)
				if err != nil {
					return err
				}
				if !bytes.Equal(use.fingerprint, fingerprint) {
					return errKeyUsed
				}
				id, respStatus = use.resourceID, use.status
				return nil
			}
		}
		var err error
		if id, err = fn(tx); err != nil {
			return err
		}
		made, respStatus = true, status
		if key != "" {
			return idempotencyKeys.setResource(ctx, tx, key, id)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	if made {
		s.wake()
	}
	return id, respStatus, nil
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

// insertPayment stores a new pending payment with its BR Code and QR image, and
// queues its payment.created webhook.
func (s *Sandbox) insertPayment(ctx context.Context, tx pgx.Tx, p *payment) (int64, error) {
	var err error
	if p.ID, err = payments.nextID(ctx, tx); err != nil {
		return 0, err
	}
	p.QRCode = brCode(pixKey, p.AmountCents, merchant, city, "HCSBX"+strconv.FormatInt(p.ID, 10))
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
	if err := payments.insert(ctx, tx, p); err != nil {
		return 0, err
	}
	return p.ID, s.enqueue(ctx, tx, p.ID, "payment.created", p.NotificationURL, p.CreatedAt)
}

// readPayment reads a payment with its refunds; an unknown one is errNotFound.
func readPayment(ctx context.Context, q pg.Querier, id int64) (*payment, error) {
	p, err := payments.get(ctx, q, id)
	return withRefunds(ctx, q, p, err)
}

// lockPayment expires the payment if it is due, then reads it, with its refunds,
// locked for a change; an unknown one is errNotFound.
func (s *Sandbox) lockPayment(ctx context.Context, tx pgx.Tx, id int64) (*payment, error) {
	if _, err := s.expire(ctx, tx, id); err != nil {
		return nil, err
	}
	p, err := payments.getForUpdate(ctx, tx, id)
	return withRefunds(ctx, tx, p, err)
}

func withRefunds(ctx context.Context, q pg.Querier, p *payment, err error) (*payment, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	if p.Refunds, err = refunds.listByPayment(ctx, q, p.ID); err != nil {
		return nil, err
	}
	return p, nil
}

// setStatus changes a locked payment's status and announces it.
func (s *Sandbox) setStatus(ctx context.Context, tx pgx.Tx, p *payment, status, detail string) error {
	now := s.now()
	var approved *time.Time
	if status == statusApproved && p.ApprovedAt == nil {
		approved = &now
	}
	if err := payments.setStatus(ctx, tx, p.ID, status, detail, now, approved); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, p.ID, "payment.updated", p.NotificationURL, now)
}

// expire cancels unpaid payments past their expiry — one (id > 0) or all that are
// due — announcing each, as Mercado Pago does with status_detail "expired".
func (s *Sandbox) expire(ctx context.Context, tx pgx.Tx, id int64) (int, error) {
	now := s.now()
	var list []expiredPayment
	var err error
	if id > 0 {
		list, err = payments.expireIfDue(ctx, tx, id, now)
	} else {
		list, err = payments.expireDue(ctx, tx, now)
	}
	if err != nil {
		return 0, err
	}
	for _, e := range list {
		if err := s.enqueue(ctx, tx, e.ID, "payment.updated", e.NotificationURL, now); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}

// expireDue expires one payment (id > 0) or all that are due, in a transaction of its
// own, and returns how many it expired.
func (s *Sandbox) expireDue(ctx context.Context, id int64) (int, error) {
	var n int
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) (err error) {
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
func (s *Sandbox) enqueue(ctx context.Context, q pg.Querier, paymentID int64, action, url string, at time.Time) error {
	if url == "" {
		url = s.opts.NotificationURL
	}
	if url == "" {
		return nil // nowhere to send it, as at Mercado Pago without a webhook setting
	}
	return deliveries.enqueue(ctx, q, paymentID, action, url, at)
}

// wake tells the delivery loop that webhooks were queued.
func (s *Sandbox) wake() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}
