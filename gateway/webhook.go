package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
)

// MercadoPagoWebhookPath is where Mercado Pago posts payment notifications.
const MercadoPagoWebhookPath = "/webhooks/mercadopago"

// webhookMaxBody bounds a notification's body; Mercado Pago's are a few hundred bytes.
const webhookMaxBody = 64 << 10

// The longest x-signature and x-request-id payments takes (ReceiveNotificationRequest's
// rules); Mercado Pago's are far shorter.
const (
	maxSignatureLen         = 512
	maxProviderRequestIDLen = 128
)

// webhookTimeout bounds the call to payments: the provider gives up after 22 s and
// retries, and payments only checks the signature and queues a job.
const webhookTimeout = 10 * time.Second

// MercadoPagoWebhook answers Mercado Pago's payment notifications (mount it at
// "POST "+MercadoPagoWebhookPath through Options.Extra). It passes the x-signature and
// x-request-id headers with data.id and type — from the query string, as the signature
// is computed over them, else from the JSON body — to payments' ReceiveNotification,
// and answers 200 once the notification is accepted; 401 SIGNATURE_INVALID when its
// signature is refused or cannot be checked (no x-signature), 400 when it names no
// payment, 503 when payments cannot take it now (the provider retries any answer but
// 200 or 201).
func MercadoPagoWebhook(payments paymentsv1.PaymentsServiceClient, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := readWebhookBody(w, r, webhookMaxBody)
		if !ok {
			return
		}
		q := r.URL.Query()
		req := &paymentsv1.ReceiveNotificationRequest{
			XSignature: r.Header.Get("X-Signature"), XRequestId: providerRequestID(r),
			DataId: q.Get("data.id"), Type: q.Get("type"),
		}
		if req.DataId == "" || req.Type == "" {
			var body struct {
				Type string `json:"type"`
				Data struct {
					ID json.RawMessage `json:"id"` // a string, or a number in older payloads
				} `json:"data"`
			}
			_ = json.Unmarshal(raw, &body)
			if req.Type == "" {
				req.Type = body.Type
			}
			if req.DataId == "" {
				req.DataId = jsonScalar(body.Data.ID)
			}
		}
		// Without a signature, or with one or a request id longer than any Mercado Pago
		// sends (payments' limits), the notification's signature cannot be checked.
		if req.XSignature == "" {
			writeStatus(w, r, http.StatusUnauthorized, reasonStatus(ReasonSignatureInvalid,
				"the notification's signature cannot be checked: the x-signature header is missing"))
			return
		}
		if len(req.XSignature) > maxSignatureLen || len(req.XRequestId) > maxProviderRequestIDLen {
			writeStatus(w, r, http.StatusUnauthorized, reasonStatus(ReasonSignatureInvalid,
				"the notification's signature cannot be checked: the x-signature or x-request-id header is too long"))
			return
		}
		if req.DataId == "" {
			badRequest(w, r, "data.id", "the notification names no payment: data.id is missing from the query string and the body")
			return
		}
		ctx, cancel := context.WithTimeout(outgoing(r.Context(), r), webhookTimeout)
		defer cancel()
		if _, err := payments.ReceiveNotification(ctx, req); err != nil {
			writeWebhookError(w, r, log, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}"))
	})
}

// jsonScalar returns a JSON string's value or a number's digits ("" otherwise).
func jsonScalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// readWebhookBody reads a provider webhook's body, up to limit bytes; it answers 413
// above, 400 when the body was cut short, and then returns false.
func readWebhookBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		bodyTooLarge(w, r, limit)
		return nil, false
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, over := errors.AsType[*http.MaxBytesError](err); over {
		bodyTooLarge(w, r, limit)
		return nil, false
	}
	if err != nil {
		badRequest(w, r, "body", "the body was cut short")
		return nil, false
	}
	return raw, true
}

// writeWebhookError answers a provider webhook with the status of the service's error
// (a timeout is 503: the provider retries any answer but 2xx).
func writeWebhookError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	s := status.Convert(err)
	code := runtime.HTTPStatusFromCode(s.Code())
	if s.Code() == codes.DeadlineExceeded || s.Code() == codes.Canceled {
		code = http.StatusServiceUnavailable
	}
	if code >= 500 {
		log.WarnContext(r.Context(), "provider webhook not accepted; the provider will retry",
			"code", s.Code().String(), "error", s.Message())
	}
	if errorInfo(s) == nil {
		s, _ = edgeStatus(r.Context(), log, r, s, err)
	}
	writeStatus(w, r, code, s)
}
