package whatsappsandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// status is one status webhook to send about a message.
type status struct {
	name string // sent, delivered, failed
	code int    // failed: the error code
}

// deliver sends m's status webhooks in order (sent, then delivered or failed) in the
// background, each retried with backoff until it is answered 200 or MaxAttempts
// fail. Close stops it.
func (s *Sandbox) deliver(m Message) {
	plan := []status{{name: "sent"}, {name: "delivered"}}
	if m.To[len(m.To)-4:] == "0001" {
		plan[1] = status{name: "failed", code: 131026}
	}
	if s.opts.WebhookURL == "" {
		// Nobody listens: the message still goes through its statuses.
		last := plan[len(plan)-1]
		s.setStatus(m.ID, last.name, last.code)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Go(func() {
		for i, st := range plan {
			if i > 0 && s.opts.DeliveredAfter > 0 && !sleep(s.ctx, s.opts.DeliveredAfter) {
				return
			}
			s.setStatus(m.ID, st.name, st.code)
			if !s.post(m, st) {
				return
			}
		}
	})
}

// post sends one status webhook until it is accepted; false when it gave up or the
// sandbox closed.
func (s *Sandbox) post(m Message, st status) bool {
	body, err := json.Marshal(s.statusBody(m, st))
	if err != nil {
		s.log.Error("whatsapp sandbox: encoding a webhook", "error", err)
		return false
	}
	wait := s.opts.RetryBase
	for attempt := 1; ; attempt++ {
		err := s.postOnce(body)
		if err == nil {
			s.log.Debug("whatsapp sandbox: webhook delivered", "message", m.ID, "status", st.name)
			return true
		}
		if s.ctx.Err() != nil {
			return false
		}
		if attempt >= s.opts.MaxAttempts {
			s.log.Warn("whatsapp sandbox: webhook given up", "message", m.ID, "status", st.name, "attempts", attempt, "error", err)
			return false
		}
		s.log.Info("whatsapp sandbox: webhook failed, will retry", "message", m.ID, "status", st.name,
			"attempt", attempt, "retry_in", wait, "error", err)
		if !sleep(s.ctx, wait) {
			return false
		}
		wait = min(2*wait, s.opts.RetryMax)
	}
}

// postOnce posts body signed as Meta signs it: X-Hub-Signature-256 is "sha256=" and
// the hex of the HMAC-SHA256 of the exact bytes sent, keyed with the app secret.
func (s *Sandbox) postOnce(body []byte) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(s.opts.AppSecret))
	mac.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := s.hook.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// statusBody is a messages webhook with one status, in the shape of Meta's status
// webhook reference.
func (s *Sandbox) statusBody(m Message, st status) map[string]any {
	now := s.now()
	item := map[string]any{
		"id":           m.ID,
		"status":       st.name,
		"timestamp":    strconv.FormatInt(now.Unix(), 10),
		"recipient_id": m.To,
	}
	if st.code != 0 {
		item["errors"] = []map[string]any{{
			"code": st.code, "title": "Message undeliverable", "message": "Message undeliverable",
			"error_data": map[string]string{"details": "Message Undeliverable. (sandbox number ending 0001)"},
			"href":       "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
		}}
	} else {
		item["conversation"] = map[string]any{
			"id":                   "sandbox-conversation-" + m.To,
			"expiration_timestamp": strconv.FormatInt(m.Time.Add(24*time.Hour).Unix(), 10),
			"origin":               map[string]string{"type": "utility"},
		}
		item["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": "utility"}
	}
	return map[string]any{
		"object": "whatsapp_business_account",
		"entry": []map[string]any{{
			"id": s.opts.BusinessAccountID,
			"changes": []map[string]any{{
				"field": "messages",
				"value": map[string]any{
					"messaging_product": "whatsapp",
					"metadata": map[string]string{
						"display_phone_number": s.opts.DisplayPhoneNumber,
						"phone_number_id":      s.opts.PhoneNumberID,
					},
					"statuses": []map[string]any{item},
				},
			}},
		}},
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
