package pixsandbox

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
)

// webhookBatch is how many deliveries one round claims.
const webhookBatch = 32

// work expires due payments and delivers due webhooks every poll interval, or at once
// when this process queued one, until ctx ends. It is a poller, not a River periodic
// job: the sandbox is a development and test server with a schema of its own, every
// sandbox process on the database takes part (the claims' leases and SKIP LOCKED keep
// each webhook to one sender), and tests poll every few milliseconds.
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
	due, err := deliveries.claimDue(ctx, s.db, s.opts.WebhookTimeout+30*time.Second, webhookBatch)
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
	dataID := strconv.FormatInt(d.PaymentID, 10)
	body, err := json.Marshal(map[string]any{
		"id": d.ID, "live_mode": false, "type": "payment", "date_created": apiTime(d.CreatedAt),
		"user_id": collectorID, "api_version": "v1", "action": d.Action,
		"data": map[string]string{"id": dataID},
	})
	if err != nil {
		return err
	}
	sep := "?"
	if strings.Contains(d.URL, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL+sep+"data.id="+dataID+"&type=payment", bytes.NewReader(body))
	if err != nil {
		return err
	}
	requestID := uuid.NewString()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "MercadoPago WebHook v1.0 payment")
	req.Header.Set("X-Request-Id", requestID)
	req.Header.Set("X-Signature", signature(s.opts.WebhookSecret, dataID, requestID, s.now()))
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
		s.log.DebugContext(ctx, "pix sandbox: webhook delivered", "delivery", d.ID, "payment", d.PaymentID, "action", d.Action)
		err = deliveries.markDelivered(ctx, s.db, d.ID)
	case d.Attempts >= s.opts.MaxAttempts:
		s.log.WarnContext(ctx, "pix sandbox: webhook given up", "delivery", d.ID, "payment", d.PaymentID,
			"attempts", d.Attempts, "error", sendErr)
		err = deliveries.markFailed(ctx, s.db, d.ID, sendErr.Error())
	default:
		wait := s.backoff(d.Attempts)
		s.log.InfoContext(ctx, "pix sandbox: webhook failed, will retry", "delivery", d.ID, "payment", d.PaymentID,
			"attempt", d.Attempts, "retry_in", wait, "error", sendErr)
		err = deliveries.retryIn(ctx, s.db, d.ID, wait, sendErr.Error())
	}
	if err != nil {
		s.log.WarnContext(ctx, "pix sandbox: recording a webhook attempt failed", "delivery", d.ID, "error", err)
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
