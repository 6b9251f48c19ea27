package notifications

import (
	"context"
	"errors"
)

// Mail is one e-mail message, rendered.
type Mail struct {
	// Key identifies the message for the provider: the notification id and channel.
	// SMTP sends it as the Message-ID, so a message sent twice after a crash carries
	// the same id and mail clients thread or drop the copy; SES v2 takes no such key.
	Key              string
	From, To, ToName string
	Subject          string
	Text, HTML       string
}

// Mailer sends e-mail: the SMTP driver (any provider, and the development sink) and
// the Amazon SES v2 driver. Send returns the provider's message id; an error that
// retrying cannot fix (a refused recipient, a rejected message) is a *PermanentError.
type Mailer interface {
	Send(ctx context.Context, m Mail) (providerID string, err error)
}

// PermanentError is a provider's refusal that the same message will meet again: the
// delivery is recorded FAILED with Reason instead of retried.
type PermanentError struct {
	// Reason is what the history shows, e.g. "bounce: 550 5.1.1 user unknown".
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// permanentReason returns the reason of a *PermanentError in err's chain.
func permanentReason(err error) (string, bool) {
	if pe, ok := errors.AsType[*PermanentError](err); ok {
		return pe.Reason, true
	}
	return "", false
}
