package notifications

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
)

// SESConfig configures the Amazon SES v2 driver.
type SESConfig struct {
	Region string
	// ConfigurationSet names the SES configuration set whose event destinations
	// receive bounces and complaints.
	ConfigurationSet string
	// Endpoint replaces https://email.<region>.amazonaws.com when set (a VPC endpoint,
	// or a test's loopback server).
	Endpoint    string
	Credentials aws.CredentialsProvider
	HTTPClient  *http.Client
}

// SES sends e-mail through Amazon SES v2's SendEmail (POST /v2/email/outbound-emails).
// SES takes no idempotency key: a message sent again after a crash between the
// provider's answer and our record of it is a second e-mail (see deliver.go).
type SES struct {
	client *sesv2.Client
	cfg    SESConfig
}

var _ Mailer = (*SES)(nil)

// NewSES returns the SES driver. Retries are left to the delivery job (River's
// backoff), so the SDK makes one attempt per call.
func NewSES(cfg SESConfig) (*SES, error) {
	if cfg.Region == "" || cfg.Credentials == nil {
		return nil, errors.New("notifications: ses: region and credentials are required")
	}
	awsCfg := aws.Config{Region: cfg.Region, Credentials: cfg.Credentials, RetryMaxAttempts: 1}
	if cfg.HTTPClient != nil {
		awsCfg.HTTPClient = cfg.HTTPClient
	}
	client := sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &SES{client: client, cfg: cfg}, nil
}

// Send implements Mailer.
func (s *SES) Send(ctx context.Context, m Mail) (string, error) {
	to := m.To
	if m.ToName != "" {
		to = fmt.Sprintf("%q <%s>", m.ToName, m.To)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.From),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(m.Text), Charset: aws.String("UTF-8")},
				Html: &types.Content{Data: aws.String(m.HTML), Charset: aws.String("UTF-8")},
			},
		}},
		// The key rides along as a message tag, so bounce and complaint events of the
		// configuration set name the notification.
		EmailTags: []types.MessageTag{{Name: aws.String("notification"), Value: aws.String(m.Key)}},
	}
	if s.cfg.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.cfg.ConfigurationSet)
	}
	out, err := s.client.SendEmail(ctx, in)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) {
			switch api.ErrorCode() {
			// The message or its addresses are refused: sending it again fails again.
			// (AccountSuspended and SendingPaused are the account's state, and pass:
			// those are retried.)
			case "MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException", "NotFoundException":
				return "", &PermanentError{Reason: "ses: " + api.ErrorCode(), Err: err}
			}
		}
		return "", fmt.Errorf("ses: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}
