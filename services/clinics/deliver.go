package clinics

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riverqueue/river"

	"healthcore/platform/errs"
)

// Delivering an event to an endpoint (the clinics.deliver_event job):
//
//   - Order: an appointment's event n+1 waits while the same endpoint's delivery of an
//     earlier event of the appointment is pending, and while an earlier event has not
//     reached clinics at all (for at most EventGapWait).
//   - POST the event's protojson with Healthcore-Event-Id, Healthcore-Event-Type and
//     Healthcore-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>."+body)>
//     (a second v1= while a rotated secret still signs).
//   - 2xx within EventTimeout is delivered; anything else is retried after
//     EventFirstRetry, doubling up to EventMaxRetry, ±20 % jitter, until EventRetryFor
//     after it was queued; then it is failed, and the clinic may replay it.
//   - The address is checked when the connection is made (after DNS): loopback,
//     private, link-local and other non-public addresses are refused, so a name that
//     later resolves inside the network reaches nothing.

// deliver runs one attempt of a delivery.
func (s *Service) deliver(ctx context.Context, id string) error {
	d, ok, err := s.events.delivery(ctx, s.db, id)
	if err != nil || !ok || d.State != "pending" {
		return err // gone or settled: a duplicate job, or a replay already sent
	}
	e, err := s.events.endpointByID(ctx, s.db, d.EndpointID)
	if err != nil {
		return err
	}
	if e.Deleted {
		return s.events.abandon(ctx, s.db, d.ID, "the endpoint was deleted")
	}
	now := s.now()
	if wait, err := s.waitTurn(ctx, d, now); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}
	ev, err := s.events.event(ctx, s.db, d.EventID)
	if err != nil {
		return err
	}
	secrets, err := s.secrets(ctx, e, now)
	if err != nil {
		return err
	}
	status, sendErr := s.post(ctx, e.URL, ev, secrets)
	now = s.now()
	if sendErr == nil {
		at := now.UTC()
		if err := s.events.attempt(ctx, s.db, d.ID, "delivered", status, "", nil, &at); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "event delivered", slog.String("delivery_id", d.ID), slog.String("event_id", d.EventID),
			slog.Int("status", status), slog.Int("attempt", d.Attempts+1))
		return nil
	}
	wait := s.backoff(d.Attempts + 1)
	if next := now.Add(wait); next.Before(d.RetryUntil) {
		if err := s.events.attempt(ctx, s.db, d.ID, "pending", status, sendErr.Error(), &next, nil); err != nil {
			return err
		}
		s.log.WarnContext(ctx, "event delivery failed; will retry", slog.String("delivery_id", d.ID), slog.String("event_id", d.EventID),
			slog.Int("status", status), slog.String("error", sendErr.Error()), slog.Duration("retry_in", wait))
		return river.JobSnooze(wait)
	}
	s.log.ErrorContext(ctx, "event delivery failed for good", slog.String("delivery_id", d.ID), slog.String("event_id", d.EventID),
		slog.Int("status", status), slog.String("error", sendErr.Error()), slog.Int("attempts", d.Attempts+1))
	return s.events.attempt(ctx, s.db, d.ID, "failed", status, sendErr.Error(), nil, nil)
}

// waitTurn is how long the delivery must wait for the appointment's earlier events to
// go first to the same endpoint; 0 when it may go now. Past its retry period a
// delivery waits no longer.
func (s *Service) waitTurn(ctx context.Context, d delivery, now time.Time) (time.Duration, error) {
	if !now.Before(d.RetryUntil) {
		return 0, nil
	}
	pending, next, earlier, err := s.events.ahead(ctx, s.db, d)
	if err != nil {
		return 0, err
	}
	switch {
	case pending:
		wait := s.cfg.EventOrderWait
		if next != nil && next.Sub(now) > wait {
			wait = min(next.Sub(now), s.cfg.EventMaxRetry)
		}
		return wait, nil
	case earlier < d.Sequence-1 && now.Before(d.CreatedAt.Add(s.cfg.EventGapWait)):
		return s.cfg.EventOrderWait, nil
	}
	return 0, nil
}

// backoff is the wait after the n-th failed attempt.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.EventMaxRetry
	if n <= 30 {
		if e := s.cfg.EventFirstRetry << (n - 1); e > 0 && e < d {
			d = e
		}
	}
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// secrets opens the endpoint's signing secrets: the current one, and the previous one
// while it still signs.
func (s *Service) secrets(ctx context.Context, e endpoint, now time.Time) ([][]byte, error) {
	cur, err := s.env.Open(ctx, e.Secret, secretContext, []byte(e.ID))
	if err != nil {
		return nil, fmt.Errorf("open the endpoint's secret: %w", err)
	}
	out := [][]byte{cur}
	if e.Previous != nil && e.PreviousUntil != nil && now.Before(*e.PreviousUntil) {
		prev, err := s.env.Open(ctx, e.Previous, secretContext, []byte(e.ID))
		if err != nil {
			return nil, fmt.Errorf("open the endpoint's previous secret: %w", err)
		}
		out = append(out, prev)
	}
	return out, nil
}

// post sends the event; nil error means a 2xx answer. The status is 0 without one.
func (s *Service) post(ctx context.Context, endpointURL string, ev storedEvent, secrets [][]byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.EventTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpointURL, bytes.NewReader(ev.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Healthcore-Events/1")
	req.Header.Set("Healthcore-Event-Id", ev.ID)
	req.Header.Set("Healthcore-Event-Type", ev.Type)
	req.Header.Set("Healthcore-Signature", Signature(secrets, s.now(), ev.Body))
	resp, err := s.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("no answer within %s", s.cfg.EventTimeout)
		}
		return 0, errors.Unwrap(err) // the url.Error's cause, without the URL
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the endpoint answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// Signature is the Healthcore-Signature header of a body sent at t:
// "t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<t>." + body)>", with one
// v1= per secret (two while a rotated secret still signs).
func Signature(secrets [][]byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		b.WriteString(",v1=" + hex.EncodeToString(mac.Sum(nil)))
	}
	return b.String()
}

// eventClient is the HTTP client that sends events: no proxy, no redirects followed,
// TLS 1.2 or later against roots, and every connection's address checked as it is made.
func (s *Service) eventClient(roots *x509.CertPool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !s.addressAllowed(ap.Addr()) {
			return fmt.Errorf("address %s is not public: refused", ap.Addr())
		}
		return nil
	}}
	return &http.Client{
		Transport: &http.Transport{
			Proxy: nil, DialContext: dialer.DialContext, ForceAttemptHTTP2: true,
			TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute, TLSHandshakeTimeout: 5 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// nonPublic are ranges that are not for the public internet beyond what netip names.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("64:ff9b::/96"),
}

// addressAllowed says whether events may be sent to ip: a public unicast address, or
// loopback when EventAllowLoopback is set.
func (s *Service) addressAllowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() {
		return s.cfg.EventAllowLoopback
	}
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// checkURL refuses an endpoint URL that is not https (http only on loopback, when
// allowed), carries credentials or a fragment, or names an address not public.
func (s *Service) checkURL(raw string) error {
	bad := func(why string) error {
		return ReasonEventEndpointURLInvalid.New("url: " + why).WithViolations(errs.Violation{Field: "url", Description: why})
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return bad("must be an absolute https:// URL")
	}
	if u.User != nil || u.Fragment != "" {
		return bad("must carry no credentials and no fragment")
	}
	host := u.Hostname()
	ip, isIP := netip.ParseAddr(host)
	loopback := (isIP == nil && ip.Unmap().IsLoopback()) || strings.EqualFold(host, "localhost")
	switch {
	case u.Scheme == "http" && loopback && s.cfg.EventAllowLoopback:
	case u.Scheme != "https":
		return bad("must be https://")
	}
	switch {
	case loopback && !s.cfg.EventAllowLoopback:
		return bad("must name a public address, not loopback")
	case isIP == nil && !loopback && !s.addressAllowed(ip):
		return bad("must name a public address, not a private, link-local or reserved one")
	}
	return nil
}
