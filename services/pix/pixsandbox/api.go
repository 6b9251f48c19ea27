package pixsandbox

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// maxBody bounds request bodies; the API's are small.
const maxBody = 64 << 10

// expiryGrace widens the sandbox's 30-minute to 30-day window for date_of_expiration
// by the time a request may take to arrive.
const expiryGrace = time.Minute

// Handler returns the sandbox's HTTP API, its development controls and ticket pages.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/payments", s.api(s.createPayment))
	mux.Handle("GET /v1/payments/{id}", s.api(s.getPayment))
	mux.Handle("PUT /v1/payments/{id}", s.api(s.updatePayment))
	mux.Handle("POST /v1/payments/{id}/refunds", s.api(s.createRefund))
	mux.Handle("GET /v1/payments/{id}/refunds", s.api(s.listRefunds))
	mux.Handle("GET /v1/payments/{id}/refunds/{refund}", s.api(s.getRefund))
	// Development controls: no token, like a payer's banking app "paying" the code.
	mux.HandleFunc("POST /sandbox/payments/{id}/approve", s.control(true))
	mux.HandleFunc("POST /sandbox/payments/{id}/reject", s.control(false))
	mux.HandleFunc("GET /payments/{id}/ticket", s.ticket)
	return mux
}

// apiFunc handles one API call: the status and body to answer, or an error
// (*apiError for the caller's mistakes).
type apiFunc func(r *http.Request) (int, any, error)

// api checks the bearer token, runs h, and writes its answer as JSON.
func (s *Sandbox) api(h apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AccessToken)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]any{
				"message": "invalid access token", "error": "unauthorized", "status": http.StatusUnauthorized, "cause": []any{},
			})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		status, body, err := h(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, status, body)
	})
}

func (s *Sandbox) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		if r.Context().Err() == nil {
			s.log.ErrorContext(r.Context(), "pix sandbox: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		}
		e = &apiError{http.StatusInternalServerError, "internal_error", 0, "internal error"}
	}
	cause := []any{}
	if e.cause != 0 {
		cause = append(cause, map[string]any{"code": e.cause, "description": e.message, "data": nil})
	}
	writeJSON(w, e.status, map[string]any{"message": e.message, "error": e.code, "status": e.status, "cause": cause})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// createPaymentBody is the subset of POST /v1/payments the sandbox reads. Amounts are
// json.Number so reais become centavos without passing through a float.
type createPaymentBody struct {
	TransactionAmount json.Number   `json:"transaction_amount"`
	PaymentMethodID   string        `json:"payment_method_id"`
	Description       string        `json:"description"`
	ExternalReference string        `json:"external_reference"`
	NotificationURL   string        `json:"notification_url"`
	DateOfExpiration  string        `json:"date_of_expiration"`
	Payer             payerResource `json:"payer"`
}

// createRequest reads a create's X-Idempotency-Key, which Mercado Pago requires, and
// its body.
func createRequest(r *http.Request) (key string, body []byte, err error) {
	key = r.Header.Get("X-Idempotency-Key")
	if key == "" {
		return "", nil, badRequest(4292, "Header X-Idempotency-Key can't be null")
	}
	body, err = readBody(r)
	return key, body, err
}

func readBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, badRequest(0, "cannot read the body: %v", err)
	}
	return raw, nil
}

func (s *Sandbox) createPayment(r *http.Request) (int, any, error) {
	key, raw, err := createRequest(r)
	if err != nil {
		return 0, nil, err
	}
	var in createPaymentBody
	if err := json.Unmarshal(raw, &in); err != nil {
		return 0, nil, badRequest(0, "invalid JSON body: %v", err)
	}
	// Checked inside the write, after the key: a replay answers with the payment even
	// when its date_of_expiration has since come too close.
	id, status, err := s.write(r.Context(), key, fingerprint(r.Method, r.URL.Path, raw), "payment", http.StatusCreated,
		func(tx pgx.Tx) (int64, error) {
			p, err := s.newPayment(in)
			if err != nil {
				return 0, err
			}
			return s.insertPayment(r.Context(), tx, p)
		})
	if err != nil {
		return 0, nil, err
	}
	got, err := readPayment(r.Context(), s.db, id)
	if err != nil {
		return 0, nil, err
	}
	return status, paymentJSON(got), nil
}

// newPayment checks a create request as Mercado Pago does for PIX.
func (s *Sandbox) newPayment(in createPaymentBody) (*payment, error) {
	cents, err := parseAmount(in.TransactionAmount.String())
	if err != nil || cents <= 0 {
		return nil, badRequest(4037, "Invalid transaction_amount %q: a positive amount in reais with at most two decimals", in.TransactionAmount)
	}
	if in.PaymentMethodID != "pix" {
		return nil, badRequest(4033, "payment_method_id %q: the sandbox knows only pix", in.PaymentMethodID)
	}
	if _, err := mail.ParseAddress(in.Payer.Email); err != nil || in.Payer.Email == "" {
		return nil, badRequest(4050, "payer.email must be a valid email")
	}
	if in.NotificationURL != "" {
		if u, err := url.Parse(in.NotificationURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, badRequest(4020, "notification_url attribute must be url valid")
		}
	}
	now := s.now()
	expires := now.Add(24 * time.Hour) // Mercado Pago's default for PIX
	if in.DateOfExpiration != "" {
		// Strict on purpose: the documented layout only, so a client that drifts from it
		// fails in development, not in production.
		if expires, err = time.Parse(timeLayout, in.DateOfExpiration); err != nil {
			return nil, badRequest(0, "date_of_expiration %q: want yyyy-MM-dd'T'HH:mm:ss.SSSz, e.g. 2026-03-01T14:30:00.000-03:00", in.DateOfExpiration)
		}
		if ahead := expires.Sub(now); ahead < minExpiry-expiryGrace || ahead > maxExpiry+expiryGrace {
			return nil, badRequest(0, "date_of_expiration must be between 30 minutes and 30 days from now")
		}
	}
	return &payment{
		Status: statusPending, StatusDetail: "pending_waiting_transfer", AmountCents: cents,
		Description: in.Description, ExternalReference: in.ExternalReference,
		PayerEmail: in.Payer.Email, PayerFirstName: in.Payer.FirstName, PayerLastName: in.Payer.LastName,
		PayerIDType: in.Payer.Identification.Type, PayerIDNumber: in.Payer.Identification.Number,
		NotificationURL: in.NotificationURL, CreatedAt: now, UpdatedAt: now, ExpiresAt: expires,
	}, nil
}

func (s *Sandbox) getPayment(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	if _, err := s.expireDue(r.Context(), id); err != nil {
		return 0, nil, err
	}
	p, err := readPayment(r.Context(), s.db, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, paymentJSON(p), nil
}

// updatePayment is PUT /v1/payments/{id}; of its uses the sandbox knows cancelling,
// {"status": "cancelled"}, allowed while pending, in process or authorized.
func (s *Sandbox) updatePayment(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	raw, err := readBody(r)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &in); err != nil || in.Status != statusCancelled {
		return 0, nil, badRequest(0, `the sandbox supports only {"status": "cancelled"}`)
	}
	ctx := r.Context()
	_, status, err := s.write(ctx, r.Header.Get("X-Idempotency-Key"), fingerprint(r.Method, r.URL.Path, raw), "payment", http.StatusOK,
		func(tx pgx.Tx) (int64, error) {
			p, err := s.lockPayment(ctx, tx, id)
			if err != nil {
				return 0, err
			}
			switch p.Status {
			case statusPending, statusInProcess, statusAuthorized:
			default:
				return 0, errState
			}
			return id, s.setStatus(ctx, tx, p, statusCancelled, "by_collector")
		})
	if err != nil {
		return 0, nil, err
	}
	p, err := readPayment(ctx, s.db, id)
	if err != nil {
		return 0, nil, err
	}
	return status, paymentJSON(p), nil
}

// createRefund is POST /v1/payments/{id}/refunds: no body (or no amount) refunds what
// is left; {"amount": 10.5} refunds part, up to maxPartialRefunds times.
func (s *Sandbox) createRefund(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	key, raw, err := createRequest(r)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Amount json.Number `json:"amount"`
	}
	if strings.TrimSpace(string(raw)) != "" {
		if err := json.Unmarshal(raw, &in); err != nil {
			return 0, nil, badRequest(4041, "amount attribute must be numeric")
		}
	}
	var cents int64
	if in.Amount != "" {
		if cents, err = parseAmount(in.Amount.String()); err != nil || cents <= 0 {
			return 0, nil, badRequest(4040, "amount attribute must be positive, in reais with at most two decimals")
		}
	}
	ctx := r.Context()
	refundID, status, err := s.write(ctx, key, fingerprint(r.Method, r.URL.Path, raw), "refund", http.StatusCreated,
		func(tx pgx.Tx) (int64, error) { return s.refund(ctx, tx, id, cents) })
	if err != nil {
		return 0, nil, err
	}
	f, err := readRefund(ctx, s.db, id, refundID)
	if err != nil {
		return 0, nil, err
	}
	return status, refundJSON(f), nil
}

// refund refunds cents (0: all that is left) of a paid payment.
func (s *Sandbox) refund(ctx context.Context, tx pgx.Tx, id, cents int64) (int64, error) {
	p, err := s.lockPayment(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if p.Status != statusApproved {
		return 0, errState
	}
	left := p.AmountCents - p.RefundedCents
	partial := cents > 0
	if !partial {
		cents = left
	}
	if cents > left {
		return 0, badRequest(0, "The refund amount (%s) exceeds the amount available to refund (%s)", formatAmount(cents), formatAmount(left))
	}
	if partial {
		n := 0
		for _, f := range p.Refunds {
			if f.Partial {
				n++
			}
		}
		if n >= maxPartialRefunds {
			return 0, badRequest(0, "A payment accepts at most %d partial refunds", maxPartialRefunds)
		}
	}
	refundID, err := refunds.insert(ctx, tx, id, cents, partial, s.now())
	if err != nil {
		return 0, err
	}
	if err := payments.addRefunded(ctx, tx, id, cents); err != nil {
		return 0, err
	}
	status, detail := statusApproved, "partially_refunded"
	if cents == left {
		status, detail = statusRefunded, "refunded"
	}
	return refundID, s.setStatus(ctx, tx, p, status, detail)
}

func (s *Sandbox) listRefunds(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	p, err := readPayment(r.Context(), s.db, id)
	if err != nil {
		return 0, nil, err
	}
	out := make([]any, len(p.Refunds))
	for i, f := range p.Refunds {
		out[i] = refundJSON(f)
	}
	return http.StatusOK, out, nil
}

func (s *Sandbox) getRefund(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	refundID, err := pathID(r, "refund")
	if err != nil {
		return 0, nil, err
	}
	f, err := readRefund(r.Context(), s.db, id, refundID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, refundJSON(f), nil
}

// readRefund reads refund refundID of payment paymentID; an unknown one is
// errRefundNotFound.
func readRefund(ctx context.Context, q pg.Querier, paymentID, refundID int64) (refund, error) {
	f, err := refunds.get(ctx, q, paymentID, refundID)
	if errors.Is(err, pgx.ErrNoRows) {
		return refund{}, errRefundNotFound
	}
	return f, err
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// Approve marks a pending payment paid, as if the payer had sent the PIX, and
// announces it with a payment.updated webhook.
func (s *Sandbox) Approve(ctx context.Context, id string) error { return s.settle(ctx, id, true) }

// Reject marks a pending payment rejected and announces it.
func (s *Sandbox) Reject(ctx context.Context, id string) error { return s.settle(ctx, id, false) }

func (s *Sandbox) settle(ctx context.Context, id string, approve bool) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("%w: %q", ErrPaymentNotFound, id)
	}
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		p, err := s.lockPayment(ctx, tx, n)
		if err != nil {
			return err
		}
		if p.Status != statusPending {
			return fmt.Errorf("%w (it is %s/%s)", errNotPending, p.Status, p.StatusDetail)
		}
		if approve {
			return s.setStatus(ctx, tx, p, statusApproved, "accredited")
		}
		return s.setStatus(ctx, tx, p, statusRejected, "rejected_by_bank")
	})
	if errors.Is(err, errNotFound) {
		return fmt.Errorf("%w: %s", ErrPaymentNotFound, id)
	}
	if err == nil {
		s.wake()
	}
	return err
}

// control serves the approve and reject controls: JSON for programs, a redirect back
// to the ticket page for its buttons.
func (s *Sandbox) control(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		err := s.settle(r.Context(), id, approve)
		if errors.Is(err, ErrPaymentNotFound) {
			err = errNotFound
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			http.Redirect(w, r, "/payments/"+id+"/ticket", http.StatusSeeOther)
			return
		}
		n, _ := strconv.ParseInt(id, 10, 64)
		p, err := readPayment(r.Context(), s.db, n)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, paymentJSON(p))
	}
}
