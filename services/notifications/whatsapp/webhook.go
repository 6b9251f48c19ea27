package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries a webhook's signature.
const SignatureHeader = "X-Hub-Signature-256"

// ErrSignature is wrapped by every error of VerifySignature: answer 401 and drop the
// body unread.
var ErrSignature = errors.New("whatsapp: webhook signature invalid")

// ErrChallenge is wrapped by every error of VerifyChallenge: answer 403.
var ErrChallenge = errors.New("whatsapp: webhook verification request refused")

// VerifySignature checks a webhook's X-Hub-Signature-256 header, "sha256=<hex>": the
// hex must be the HMAC-SHA256 of the raw body, keyed with the app secret. It compares
// in constant time. Verify before parsing: the signature covers the bytes as they came.
func VerifySignature(appSecret string, body []byte, header string) error {
	if appSecret == "" {
		return fmt.Errorf("%w: no app secret configured", ErrSignature)
	}
	if header == "" {
		return fmt.Errorf("%w: no %s header", ErrSignature, SignatureHeader)
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return fmt.Errorf("%w: the header does not start with sha256=", ErrSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: not a hex SHA-256 digest", ErrSignature)
	}
	if !hmac.Equal(got, Sign(appSecret, body)) {
		return fmt.Errorf("%w: the digest does not match the body", ErrSignature)
	}
	return nil
}

// Sign returns the HMAC-SHA256 of body keyed with appSecret, as Meta signs webhooks
// (the header's value is "sha256=" and its hex).
func Sign(appSecret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return m.Sum(nil)
}

// StatusUpdate is one message's change of delivery status.
type StatusUpdate struct {
	// MessageID is the id SendTemplate returned ("wamid.…").
	MessageID string
	// RecipientID is the user's WhatsApp id (usually the number's digits).
	RecipientID string
	// Status is sent, delivered, read or failed.
	Status string
	// Time is when the status changed (the webhook's Unix timestamp).
	Time time.Time
	// ErrorCode and ErrorTitle describe a failed status's first error (0 and "").
	ErrorCode  int
	ErrorTitle string
}

// Statuses the webhook reports for a sent message.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
)

// ParseStatusWebhook reads the status updates of a messages webhook
// (entry[].changes[].value.statuses[]); incoming messages, other fields and statuses
// other than sent, delivered, read and failed are skipped. A body that is not a
// WhatsApp Business Account notification, or a status without an id or a valid
// timestamp, is an error. Call it only after VerifySignature.
func ParseStatusWebhook(body []byte) ([]StatusUpdate, error) {
	var n notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("whatsapp: webhook body: %w", err)
	}
	if n.Object != "whatsapp_business_account" {
		return nil, fmt.Errorf("whatsapp: webhook object %q is not whatsapp_business_account", n.Object)
	}
	var out []StatusUpdate
	for _, e := range n.Entry {
		for _, c := range e.Changes {
			if c.Field != "messages" {
				continue
			}
			for _, s := range c.Value.Statuses {
				switch s.Status {
				case StatusSent, StatusDelivered, StatusRead, StatusFailed:
				default:
					continue
				}
				if s.ID == "" {
					return nil, errors.New("whatsapp: webhook status without a message id")
				}
				secs, err := strconv.ParseInt(s.Timestamp, 10, 64)
				if err != nil || secs <= 0 {
					return nil, fmt.Errorf("whatsapp: webhook status of %s: timestamp %q is not Unix seconds", s.ID, s.Timestamp)
				}
				u := StatusUpdate{MessageID: s.ID, RecipientID: s.RecipientID, Status: s.Status, Time: time.Unix(secs, 0).UTC()}
				if len(s.Errors) > 0 {
					u.ErrorCode, u.ErrorTitle = s.Errors[0].Code, s.Errors[0].Title
					if u.ErrorTitle == "" {
						u.ErrorTitle = s.Errors[0].Message
					}
				}
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// notification is the part of a webhook body ParseStatusWebhook reads.
type notification struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				MessagingProduct string `json:"messaging_product"`
				Statuses         []struct {
					ID          string `json:"id"`
					Status      string `json:"status"`
					Timestamp   string `json:"timestamp"`
					RecipientID string `json:"recipient_id"`
					Errors      []struct {
						Code    int    `json:"code"`
						Title   string `json:"title"`
						Message string `json:"message"`
					} `json:"errors"`
				} `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// VerifyChallenge answers the GET with which Meta checks a webhook URL
// (?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…): when the mode is subscribe
// and the token is verifyToken, it returns the challenge to echo with 200. Errors wrap
// ErrChallenge.
func VerifyChallenge(query url.Values, verifyToken string) (string, error) {
	if verifyToken == "" {
		return "", fmt.Errorf("%w: no verify token configured", ErrChallenge)
	}
	if query.Get("hub.mode") != "subscribe" {
		return "", fmt.Errorf("%w: hub.mode is not subscribe", ErrChallenge)
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("hub.verify_token")), []byte(verifyToken)) != 1 {
		return "", fmt.Errorf("%w: hub.verify_token does not match", ErrChallenge)
	}
	challenge := query.Get("hub.challenge")
	if challenge == "" {
		return "", fmt.Errorf("%w: no hub.challenge", ErrChallenge)
	}
	return challenge, nil
}
