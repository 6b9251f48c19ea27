package pix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// webhookBatch is how many deliveries one round claims.
const webhookBatch = 32

// delivery is a claimed webhook.
type delivery struct {
	id, paymentID int64
	action, url   string
	createdAt     time.Time
	attempts      int
}

// work expires due payments and delivers due webhooks every poll interval, or at once
// when this process queued one, until ctx ends.
func (s *Sandbox) work(ctx context.Context) {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		if n, err := s.expireDue(ctx, 0); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "pix sandbox: expiring payments failed", "error", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "pix sandbox: payments expired", "count", n)
		}
		if err := s.deliverDue(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "pix sandbox: webhook round failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.nudge:
		}
	}
}

// deliverDue claims the deliveries that are due — leasing them, so another process
// leaves them alone while they are in flight — sends them, and records the outcome.
func (s *Sandbox) deliverDue(ctx context.Context) error {
	lease := s.opts.WebhookTimeout + 30*time.Second
	rows, err := s.db.Query(ctx, `
		UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + $1::interval
		FROM (SELECT id FROM webhook_deliveries
		      WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
		      ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) due
		WHERE d.id = due.id
		RETURNING d.id, d.payment_id, d.action, d.url, d.created_at, d.attempts`, lease, webhookBatch)
	if err != nil {
		return err
	}
	due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delivery, error) {
		var d delivery
		return d, r.Scan(&d.id, &d.paymentID, &d.action, &d.url, &d.createdAt, &d.attempts)
	})
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, d := range due {
		wg.Go(func() { s.record(ctx, d, s.send(ctx, d)) })
	}
	wg.Wait()
	return nil
}

// send posts one notification as Mercado Pago does: the body, ?data.id=…&type=payment,
// and x-signature over the payment id, a fresh x-request-id and the current time.
func (s *Sandbox) send(ctx context.Context, d delivery) error {
	dataID := strconv.FormatInt(d.paymentID, 10)
	body, err := json.Marshal(map[string]any{
		"id": d.id, "live_mode": false, "type": "payment", "date_created": apiTime(d.createdAt),
		"user_id": sandboxCollectorID, "api_version": "v1", "action": d.action,
		"data": map[string]string{"id": dataID},
	})
	if err != nil {
		return err
	}
	sep := "?"
	if strings.Contains(d.url, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url+sep+"data.id="+dataID+"&type=payment", bytes.NewReader(body))
	if err != nil {
		return err
	}
	requestID := uuid.NewString()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "MercadoPago WebHook v1.0 payment")
	req.Header.Set("X-Request-Id", requestID)
	req.Header.Set("X-Signature", SignNotification([]byte(s.opts.WebhookSecret), dataID, requestID, s.now()))
	resp, err := s.hook.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// record marks a delivery done, schedules its retry with exponential backoff, or gives
// up after MaxAttempts.
func (s *Sandbox) record(ctx context.Context, d delivery, sendErr error) {
	ctx = context.WithoutCancel(ctx) // a send cut short by shutdown is still recorded
	var err error
	switch {
	case sendErr == nil:
		s.log.DebugContext(ctx, "pix sandbox: webhook delivered", "delivery", d.id, "payment", d.paymentID, "action", d.action)
		_, err = s.db.Exec(ctx, `UPDATE webhook_deliveries SET delivered_at = now(), last_error = NULL WHERE id = $1`, d.id)
	case d.attempts >= s.opts.MaxAttempts:
		s.log.WarnContext(ctx, "pix sandbox: webhook given up", "delivery", d.id, "payment", d.paymentID,
			"attempts", d.attempts, "error", sendErr)
		_, err = s.db.Exec(ctx, `UPDATE webhook_deliveries SET failed_at = now(), last_error = $2 WHERE id = $1`, d.id, sendErr.Error())
	default:
		wait := s.backoff(d.attempts)
		s.log.InfoContext(ctx, "pix sandbox: webhook failed, will retry", "delivery", d.id, "payment", d.paymentID,
			"attempt", d.attempts, "retry_in", wait, "error", sendErr)
		_, err = s.db.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = now() + $2::interval, last_error = $3 WHERE id = $1`,
			d.id, wait, sendErr.Error())
	}
	if err != nil {
		s.log.WarnContext(ctx, "pix sandbox: recording a webhook attempt failed", "delivery", d.id, "error", err)
	}
}

// backoff is the wait after the attempt-th failure: RetryBase doubled each time, at
// most RetryMax.
func (s *Sandbox) backoff(attempt int) time.Duration {
	d := s.opts.RetryBase
	for i := 1; i < attempt && d < s.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.opts.RetryMax)
}
