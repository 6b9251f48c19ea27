package gateway

import (
	"context"
	"log/slog"
	"net/http"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
)

// WhatsAppWebhookPath is where the WhatsApp Cloud API posts message statuses (and
// makes its GET verification handshake).
const WhatsAppWebhookPath = "/webhooks/whatsapp"

// whatsappMaxBody bounds a status webhook's body (notifications' limit is 1 MiB; Meta
// batches up to a few hundred statuses).
const whatsappMaxBody = 1 << 20

// WhatsAppWebhook answers the WhatsApp Cloud API (mount it at "GET " and "POST "
// +WhatsAppWebhookPath through Options.Extra). POST hands the raw body and its
// X-Hub-Signature-256 to notifications' ReceiveWhatsAppStatus and answers 200 once the
// statuses are recorded, 401 SIGNATURE_INVALID when the signature is missing or wrong,
// 503 when notifications cannot take them now (Meta retries). GET is the subscription
// handshake: the hub.challenge back as text when hub.verify_token matches, 403
// otherwise.
func WhatsAppWebhook(notifications notificationsv1.NotificationsServiceClient, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(outgoing(r.Context(), r), webhookTimeout)
		defer cancel()
		if r.Method == http.MethodGet {
			q := r.URL.Query()
			resp, err := notifications.VerifyWhatsAppWebhook(ctx, &notificationsv1.VerifyWhatsAppWebhookRequest{
				HubMode: q.Get("hub.mode"), HubVerifyToken: q.Get("hub.verify_token"), HubChallenge: q.Get("hub.challenge"),
			})
			if err != nil {
				writeWebhookError(w, r, log, err)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(resp.GetChallenge()))
			return
		}
		raw, ok := readWebhookBody(w, r, whatsappMaxBody)
		if !ok {
			return
		}
		if len(raw) == 0 {
			badRequest(w, r, "body", "the webhook body is empty")
			return
		}
		sig := r.Header.Get("X-Hub-Signature-256")
		if sig == "" || len(sig) > 128 {
			writeStatus(w, r, http.StatusUnauthorized, reasonStatus(ReasonSignatureInvalid,
				"the webhook's signature cannot be checked: the X-Hub-Signature-256 header is missing or too long"))
			return
		}
		if _, err := notifications.ReceiveWhatsAppStatus(ctx, &notificationsv1.ReceiveWhatsAppStatusRequest{Body: raw, XHubSignature_256: sig}); err != nil {
			writeWebhookError(w, r, log, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}"))
	})
}
