package whatsappsandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"
)

// Template is a message template the sandbox knows as approved.
type Template struct {
	// Name and Language ("pt_BR") identify the approved translation.
	Name, Language string
	// BodyParams is how many variables ({{1}}…) the body has.
	BodyParams int
	// URLButton says the template has a dynamic URL button (index 0) that takes one
	// parameter.
	URLButton bool
	// Body is the body's text with {{1}}… placeholders, shown filled in on the page
	// (optional).
	Body string
	// ButtonURL is the URL button's prefix, shown with its parameter appended
	// (optional).
	ButtonURL string
}

// Options configures a Sandbox. Zero durations and counts take the defaults.
type Options struct {
	// AccessToken is the Bearer token the API requires.
	AccessToken string
	// PhoneNumberID is the only business phone number id the API accepts in its path.
	PhoneNumberID string
	// DisplayPhoneNumber and BusinessAccountID appear in webhooks' metadata (defaults
	// "15550000000" and "100000000000000").
	DisplayPhoneNumber, BusinessAccountID string
	// Templates are the approved templates; a message naming another is refused with
	// 132001 as the API does.
	Templates []Template
	// WebhookURL receives the status webhooks ("" sends none); AppSecret keys their
	// X-Hub-Signature-256 and is required with it.
	WebhookURL, AppSecret string
	// MaxMessages is how many messages are kept, the oldest dropped first (1000).
	MaxMessages int
	// DeliveredAfter is how long after "sent" the "delivered" webhook goes (0: at once).
	DeliveredAfter time.Duration
	// A failed webhook is tried again after RetryBase (1 s), each time twice as long up
	// to RetryMax (1 min), MaxAttempts (8) times in all; WebhookTimeout (10 s) bounds
	// each attempt.
	RetryBase, RetryMax time.Duration
	MaxAttempts         int
	WebhookTimeout      time.Duration
	Logger              *slog.Logger
	// Now is the sandbox's clock for message and status times (nil: time.Now).
	Now func() time.Time
}

// Message is a message the sandbox accepted.
type Message struct {
	ID             string   `json:"id"`
	To             string   `json:"to"`
	Template       string   `json:"template"`
	Language       string   `json:"language"`
	BodyParams     []string `json:"body_params"`
	URLButtonParam string   `json:"url_button_param,omitempty"`
	// Text is the template's body filled in, and ButtonURL its button's URL, when the
	// template registered them.
	Text      string    `json:"text,omitempty"`
	ButtonURL string    `json:"button_url,omitempty"`
	Time      time.Time `json:"time"`
	// Status is the last status the sandbox gave the message: accepted, sent,
	// delivered or failed.
	Status string `json:"status"`
	// ErrorCode is a failed message's error code (0 otherwise).
	ErrorCode int `json:"error_code,omitempty"`
}

// Sandbox is the fake Cloud API. Close it to stop its webhook deliveries.
type Sandbox struct {
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	hook      *http.Client
	templates map[string]Template // by name + "\x00" + language

	mu       sync.Mutex
	messages []Message           // oldest first, at most MaxMessages
	refused  map[string]struct{} // fingerprints of messages whose first attempt failed on purpose
	closed   bool                // Close was called: no new deliveries (wg.Go must not race wg.Wait)

	ctx    context.Context // ends at Close: stops deliveries
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var idRE = regexp.MustCompile(`^[0-9]{1,20}$`)

// New checks opts and returns a sandbox; serve its Handler.
func New(opts Options) (*Sandbox, error) {
	switch {
	case opts.AccessToken == "":
		return nil, errors.New("whatsappsandbox: an access token is required")
	case !idRE.MatchString(opts.PhoneNumberID):
		return nil, errors.New("whatsappsandbox: the phone number id must be digits")
	case opts.WebhookURL != "" && opts.AppSecret == "":
		return nil, errors.New("whatsappsandbox: webhooks need an app secret to sign them")
	case len(opts.Templates) == 0:
		return nil, errors.New("whatsappsandbox: register the approved templates (Options.Templates)")
	}
	templates := make(map[string]Template, len(opts.Templates))
	for _, t := range opts.Templates {
		if t.Name == "" || t.Language == "" || t.BodyParams < 0 {
			return nil, errors.New("whatsappsandbox: a template needs a name and a language")
		}
		templates[t.Name+"\x00"+t.Language] = t
	}
	if opts.DisplayPhoneNumber == "" {
		opts.DisplayPhoneNumber = "15550000000"
	}
	if opts.BusinessAccountID == "" {
		opts.BusinessAccountID = "100000000000000"
	}
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = 1000
	}
	setDefault(&opts.RetryBase, time.Second)
	setDefault(&opts.RetryMax, time.Minute)
	setDefault(&opts.WebhookTimeout, 10*time.Second)
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Sandbox{
		opts: opts, log: opts.Logger, now: opts.Now, templates: templates,
		hook: &http.Client{
			Timeout: opts.WebhookTimeout,
			// The receiver must answer 200 itself; a redirect is a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		refused: make(map[string]struct{}),
		ctx:     ctx, cancel: cancel,
	}, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Close stops the webhook deliveries in flight and waits for them to end. The
// Handler keeps answering; its messages send no more webhooks.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// Messages returns the messages accepted, oldest first (at most Options.MaxMessages).
func (s *Sandbox) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.BodyParams = slices.Clone(m.BodyParams)
		out[i] = m
	}
	return out
}

// add keeps m, dropping the oldest message past MaxMessages.
func (s *Sandbox) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.messages) >= s.opts.MaxMessages {
		s.messages = slices.Delete(s.messages, 0, len(s.messages)-s.opts.MaxMessages+1)
	}
	s.messages = append(s.messages, m)
}

// setStatus records a message's latest status, if it is still kept.
func (s *Sandbox) setStatus(id, status string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.messages) - 1; i >= 0; i-- {
		if s.messages[i].ID == id {
			s.messages[i].Status, s.messages[i].ErrorCode = status, code
			return
		}
	}
}

// firstAttempt reports whether fingerprint is seen for the first time, remembering it
// (a bounded memory: it forgets everything past MaxMessages entries).
func (s *Sandbox) firstAttempt(fingerprint string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.refused[fingerprint]; seen {
		delete(s.refused, fingerprint)
		return false
	}
	if len(s.refused) >= s.opts.MaxMessages {
		clear(s.refused)
	}
	s.refused[fingerprint] = struct{}{}
	return true
}

// newMessageID returns an id shaped like Meta's: "wamid." and base64.
func newMessageID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}
