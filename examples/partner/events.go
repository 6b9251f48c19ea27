package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
)

// Receiving Healthcore's partner events. Healthcore POSTs each event to the clinic's
// endpoint as the protojson of a healthcore.clinics.v1.PartnerEvent, with the headers
//
//	Content-Type: application/json
//	Healthcore-Event-Id: <the event's id>
//	Healthcore-Event-Type: <EventType name, e.g. EVENT_TYPE_APPOINTMENT_PAID>
//	Healthcore-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<t>." + body)>
//
// (two v1= while a rotated secret still signs). It retries anything but a 2xx for a
// day, so the same event may arrive more than once: handle each event id once.

// DefaultTolerance is how far a signature's time may be from the receiver's clock.
const DefaultTolerance = 5 * time.Minute

// ErrBadSignature is VerifyEventSignature's answer to a request Healthcore did not sign
// (or signed too long ago: a replayed capture).
var ErrBadSignature = errors.New("healthcore event: bad or stale signature")

// VerifyEventSignature checks a Healthcore-Signature header against the raw body: a v1
// signature by one of the secrets (comparing in constant time), made within tolerance
// of now.
func VerifyEventSignature(header string, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, sig)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > tolerance {
		return ErrBadSignature
	}
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range sigs {
			if hmac.Equal(sig, want) {
				return nil
			}
		}
	}
	return ErrBadSignature
}

// EventReceiver is the http.Handler of a clinic's event endpoint: it verifies each
// request's signature, reads the event, and hands each event id to Handle once, one
// event at a time, in the order they arrive (Healthcore sends an appointment's events
// to an endpoint in sequence order, each only after the one before was acknowledged).
type EventReceiver struct {
	// Secrets are the endpoint's signing secrets: the one CreateEventEndpoint returned,
	// and during a rotation the new one too.
	Secrets []string
	// Handle is given each event once. An error answers 500, so Healthcore sends the
	// event again later.
	Handle func(context.Context, *clinicsv1.PartnerEvent) error
	// Tolerance overrides DefaultTolerance; Now overrides the clock (tests).
	Tolerance time.Duration
	Now       func() time.Time
	Logger    *slog.Logger

	mu   sync.Mutex
	done map[string]bool // event ids handled (a production receiver keeps them in its database)
}

// ServeHTTP implements http.Handler.
func (r *EventReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	now, tolerance := time.Now(), r.Tolerance
	if r.Now != nil {
		now = r.Now()
	}
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	if err := VerifyEventSignature(req.Header.Get("Healthcore-Signature"), body, r.Secrets, now, tolerance); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	ev := new(clinicsv1.PartnerEvent)
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, ev); err != nil || ev.GetEventId() != req.Header.Get("Healthcore-Event-Id") {
		http.Error(w, "not a PartnerEvent", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done[ev.GetEventId()] {
		w.WriteHeader(http.StatusOK) // a retry of an event handled: acknowledge it again
		return
	}
	if err := r.Handle(req.Context(), ev); err != nil {
		if r.Logger != nil {
			r.Logger.Error("event not handled; Healthcore will send it again", "event_id", ev.GetEventId(), "error", err)
		}
		http.Error(w, "not handled", http.StatusInternalServerError)
		return
	}
	if r.done == nil {
		r.done = map[string]bool{}
	}
	r.done[ev.GetEventId()] = true
	w.WriteHeader(http.StatusOK)
}
