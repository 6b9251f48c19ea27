package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultBaseURL    = "https://graph.facebook.com"
	DefaultAPIVersion = "v23.0"
	DefaultLanguage   = "pt_BR"
)

// maxResponse bounds how much of an answer is read: the API's are a few hundred bytes.
const maxResponse = 64 << 10

// defaultTimeout backstops a call whose context has no deadline.
const defaultTimeout = 30 * time.Second

// Config holds one business phone number's credentials and where the API is.
type Config struct {
	// BaseURL is the Graph API's origin (DefaultBaseURL when empty); the sandbox's URL
	// in development and tests.
	BaseURL string
	// APIVersion is the Graph API version in the path (DefaultAPIVersion when empty).
	APIVersion string
	// PhoneNumberID is the business phone number's id (not the number itself).
	PhoneNumberID string
	// AccessToken is the system user's token, sent as a Bearer token. It never appears
	// in errors or logs.
	AccessToken string
	// AppSecret keys the X-Hub-Signature-256 of the app's webhooks. The client does
	// not use it: it is kept with the other credentials for the webhook handler, which
	// passes it to VerifySignature.
	AppSecret string
	// HTTPClient sends the requests (nil: a client with a 30 s timeout). The context
	// given to SendTemplate bounds each call too.
	HTTPClient *http.Client
}

// Client sends template messages from one business phone number. It is safe for
// concurrent use.
type Client struct {
	endpoint string // {BaseURL}/{APIVersion}/{PhoneNumberID}/messages
	token    string
	http     *http.Client
}

// New checks cfg and returns a client for its phone number.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, errors.New("whatsapp: BaseURL must be an http(s) URL")
	}
	if cfg.PhoneNumberID == "" || strings.ContainsAny(cfg.PhoneNumberID, "/?#") {
		return nil, errors.New("whatsapp: PhoneNumberID is required (the phone number's id, not the number)")
	}
	if cfg.AccessToken == "" {
		return nil, errors.New("whatsapp: AccessToken is required")
	}
	if strings.ContainsAny(cfg.APIVersion, "/?#") {
		return nil, errors.New("whatsapp: APIVersion is a path segment such as " + DefaultAPIVersion)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{
		endpoint: base.String() + "/" + cfg.APIVersion + "/" + url.PathEscape(cfg.PhoneNumberID) + "/messages",
		token:    cfg.AccessToken,
		http:     hc,
	}, nil
}

// Template is one approved message template and the values of its variables.
type Template struct {
	// Name is the template's name as approved in WhatsApp Manager.
	Name string
	// Language is the approved translation's code (DefaultLanguage when empty).
	Language string
	// BodyParams fill the body's {{1}}, {{2}}… in order.
	BodyParams []string
	// URLButtonParam, when not empty, is appended to the first button's URL (a
	// dynamic URL button, index 0), such as an appointment's path.
	URLButtonParam string
}

// SendTemplate sends t to the WhatsApp user whose number is to (E.164 digits, without
// the "+") and returns the message id ("wamid.…") that status webhooks will name.
// Errors the API answers are *Error; IsPermanent tells whether trying again can help.
// The API has no idempotency key: a call that fails after the request left (a
// timeout, a dropped connection) may still have sent the message.
func (c *Client) SendTemplate(ctx context.Context, to string, t Template) (string, error) {
	to = strings.TrimPrefix(to, "+")
	if !isPhoneDigits(to) {
		return "", &Error{Type: "ClientValidation", Message: "recipient must be 8 to 15 digits (E.164 without +)", Permanent: true}
	}
	if t.Name == "" {
		return "", &Error{Type: "ClientValidation", Message: "template name is required", Permanent: true}
	}
	body, err := json.Marshal(newSendRequest(to, t))
	if err != nil {
		return "", fmt.Errorf("whatsapp: encoding the request: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok && c.http.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("whatsapp: building the request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error names the URL, which holds no secret (the token is a header).
		return "", fmt.Errorf("whatsapp: sending: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", fmt.Errorf("whatsapp: reading the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", apiError(resp, raw)
	}
	var ok sendResponse
	if err := json.Unmarshal(raw, &ok); err != nil || len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
		// Accepted but unreadable: the message may well be on its way, so this is not
		// permanent; a retry may send it twice.
		return "", fmt.Errorf("whatsapp: HTTP %d without a message id", resp.StatusCode)
	}
	return ok.Messages[0].ID, nil
}

// isPhoneDigits reports whether s looks like an E.164 number without its "+".
func isPhoneDigits(s string) bool {
	if len(s) < 8 || len(s) > 15 || s[0] == '0' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date (0 when absent).
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
