package notifications

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPConfig configures the SMTP driver.
type SMTPConfig struct {
	Host string
	Port int
	// Username and Password authenticate (PLAIN, over TLS only); empty sends without
	// authentication (the development sink).
	Username, Password string
	// TLS: "mandatory" (STARTTLS required; production), "none" (the loopback sink).
	TLS     string
	Timeout time.Duration
}

// SMTP sends e-mail through an SMTP server (github.com/wneessen/go-mail).
type SMTP struct {
	opts []gomail.Option
	host string
}

var _ Mailer = (*SMTP)(nil)

// NewSMTP returns the SMTP driver.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" || cfg.Port <= 0 {
		return nil, errors.New("notifications: smtp: host and port are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case "none":
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.NoTLS), gomail.WithPort(cfg.Port))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	return &SMTP{opts: opts, host: cfg.Host}, nil
}

// Send implements Mailer. The Message-ID is <key@healthcore>, and is what Send returns.
func (s *SMTP) Send(ctx context.Context, m Mail) (string, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return "", &PermanentError{Reason: "invalid sender", Err: err}
	}
	if err := msg.AddToFormat(m.ToName, m.To); err != nil {
		return "", &PermanentError{Reason: "invalid address", Err: err}
	}
	id := m.Key + "@healthcore"
	msg.SetMessageIDWithValue(id)
	msg.SetDate()
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return "", fmt.Errorf("smtp: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		// A 5xx answer to the recipient or the message (550 user unknown, 554
		// rejected) is a bounce; 4xx and connection trouble are retried.
		if se, ok := errors.AsType[*gomail.SendError](err); ok && !se.IsTemp() && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return "", &PermanentError{Reason: "bounce: " + strings.TrimSpace(fmt.Sprintf("%d %s", se.ErrorCode(), se.EnhancedStatusCode())), Err: err}
		}
		return "", fmt.Errorf("smtp: %w", err)
	}
	return "<" + id + ">", nil
}
