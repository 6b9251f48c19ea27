package pix

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mercadopago/sdk-go/pkg/config"
	"github.com/mercadopago/sdk-go/pkg/payment"
	"github.com/mercadopago/sdk-go/pkg/refund"
)

// DefaultTimeout bounds one call to the provider.
const DefaultTimeout = 10 * time.Second

// MercadoPagoConfig configures the Mercado Pago driver.
type MercadoPagoConfig struct {
	AccessToken   string
	WebhookSecret string
	// BaseURL replaces https://api.mercadopago.com ("" keeps it): the sandbox, a proxy.
	BaseURL string
	// NotificationURL is sent with every charge as where to post its webhooks; "" leaves
	// it to the application's settings at Mercado Pago.
	NotificationURL string
	// SignatureTolerance is how far from now a notification's ts may be (0: the default).
	SignatureTolerance time.Duration
	// Timeout bounds each HTTP call (0: DefaultTimeout).
	Timeout time.Duration
	// Transport carries the requests (nil: a transport of its own).
	Transport http.RoundTripper
}

// MercadoPago is the production driver: Mercado Pago's payments API through its Go SDK.
type MercadoPago struct {
	payments        payment.Client
	refunds         refund.Client
	secret          []byte
	tolerance       time.Duration
	notificationURL string
	base            *url.URL
}

var _ Driver = (*MercadoPago)(nil)

// NewMercadoPago returns the driver.
func NewMercadoPago(c MercadoPagoConfig) (*MercadoPago, error) {
	if c.AccessToken == "" || c.WebhookSecret == "" {
		return nil, errors.New("pix: the Mercado Pago driver needs an access token and a webhook secret")
	}
	if c.BaseURL == "" {
		c.BaseURL = ProductionBaseURL
	}
	base, err := parseBaseURL(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("pix: base URL %q: %w", c.BaseURL, err)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SignatureTolerance <= 0 {
		c.SignatureTolerance = DefaultSignatureTolerance
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	// WithHTTPClient must stay the only option that decides how requests are sent. SDK
	// v1.8.0 has no timeout or retry option; one that builds its own requester (as a
	// WithTimeout or WithMaxRetries would) replaces this one without a word, and every
	// call then goes to api.mercadopago.com with a random idempotency key. The timeout
	// lives on the requester's http.Client instead.
	cfg, err := config.New(c.AccessToken, config.WithHTTPClient(&requester{
		base:   base,
		client: &http.Client{Timeout: c.Timeout, Transport: c.Transport},
	}))
	if err != nil {
		return nil, fmt.Errorf("pix: %w", err)
	}
	return &MercadoPago{
		payments:        payment.NewClient(cfg),
		refunds:         refund.NewClient(cfg),
		secret:          []byte(c.WebhookSecret),
		tolerance:       c.SignatureTolerance,
		notificationURL: c.NotificationURL,
		base:            base,
	}, nil
}

// Endpoint is the base URL of the provider's API, which the process probes to report
// the provider reachable or not on its ops listener.
func (m *MercadoPago) Endpoint() string { return m.base.String() }

// CreateCharge implements Driver.
func (m *MercadoPago) CreateCharge(ctx context.Context, req ChargeRequest) (Charge, error) {
	expire := req.ExpireTime.Truncate(time.Millisecond)
	body := payment.Request{
		TransactionAmount: reaisFloat(req.AmountCents),
		PaymentMethodID:   "pix",
		Description:       req.Description,
		ExternalReference: req.ExternalReference,
		NotificationURL:   m.notificationURL,
		DateOfExpiration:  &expire,
		Payer: &payment.PayerRequest{
			Email:          req.PayerEmail,
			FirstName:      req.PayerFirstName,
			LastName:       req.PayerLastName,
			Identification: &payment.IdentificationRequest{Type: "CPF", Number: req.PayerCPF},
		},
	}
	p, err := m.payments.Create(withIdempotencyKey(ctx, req.IdempotencyKey), body)
	if err != nil {
		return Charge{}, m.fail(ctx, "create payment", err, always(ErrRejected))
	}
	return chargeFrom(p)
}

// GetCharge implements Driver.
func (m *MercadoPago) GetCharge(ctx context.Context, id string) (Charge, error) {
	n, err := paymentID(id)
	if err != nil {
		return Charge{}, err
	}
	p, err := m.payments.Get(ctx, n)
	if err != nil {
		return Charge{}, m.fail(ctx, "get payment", err, always(ErrRejected))
	}
	return chargeFrom(p)
}

// CancelCharge implements Driver.
func (m *MercadoPago) CancelCharge(ctx context.Context, id, idempotencyKey string) (Charge, error) {
	n, err := paymentID(id)
	if err != nil {
		return Charge{}, err
	}
	p, err := m.payments.Cancel(withIdempotencyKey(ctx, idempotencyKey), n)
	if err != nil {
		// The body is fixed ({"status":"cancelled"}): a 400 is about the payment's state.
		return Charge{}, m.fail(ctx, "cancel payment", err, always(ErrNotCancellable))
	}
	return chargeFrom(p)
}

// Refund implements Driver.
func (m *MercadoPago) Refund(ctx context.Context, chargeID string, amountCents int64, idempotencyKey string) (Refund, error) {
	n, err := paymentID(chargeID)
	if err != nil {
		return Refund{}, err
	}
	wctx := withIdempotencyKey(ctx, idempotencyKey)
	var r *refund.Response
	if amountCents == 0 {
		r, err = m.refunds.Create(wctx, n) // no body: everything left
	} else {
		r, err = m.refunds.CreatePartialRefund(wctx, n, reaisFloat(amountCents))
	}
	if err != nil {
		return Refund{}, m.fail(ctx, "refund payment", err, m.explainRefusedRefund(ctx, n, amountCents))
	}
	amount, err := centsFromFloat(r.Amount)
	if err != nil {
		return Refund{}, fmt.Errorf("pix: refund %d: %w", r.ID, err)
	}
	// The refund is made: if reading the charge fails, a retry with the same key
	// returns this refund again rather than making another.
	c, err := m.GetCharge(ctx, chargeID)
	if err != nil {
		return Refund{}, err
	}
	return Refund{ID: strconv.Itoa(r.ID), AmountCents: amount, Charge: c}, nil
}

// VerifyNotification implements Driver.
func (m *MercadoPago) VerifyNotification(xSignature, xRequestID, dataID string, now time.Time) (time.Time, error) {
	return VerifySignature(m.secret, m.tolerance, xSignature, xRequestID, dataID, now)
}

// explainRefusedRefund returns a function that reads the payment after a refund was
// refused with a 4xx, to tell which rule it broke: Mercado Pago's error codes for
// refunds are not documented per rule, its payment is.
func (m *MercadoPago) explainRefusedRefund(ctx context.Context, id int, amountCents int64) func() error {
	return func() error {
		c, err := m.GetCharge(ctx, strconv.Itoa(id))
		switch {
		case err != nil:
			return ErrRejected
		case c.Status != StatusApproved:
			return ErrNotRefundable
		case amountCents > c.AmountCents-c.RefundedCents:
			return ErrRefundExceedsAmount
		}
		return ErrNotRefundable // e.g. the limit of partial refunds
	}
}

func paymentID(id string) (int, error) {
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: %q is not a Mercado Pago payment id", ErrChargeNotFound, id)
	}
	return n, nil
}

func chargeFrom(p *payment.Response) (Charge, error) {
	amount, err := centsFromFloat(p.TransactionAmount)
	if err != nil {
		return Charge{}, fmt.Errorf("pix: payment %d: transaction_amount: %w", p.ID, err)
	}
	refunded, err := centsFromFloat(p.TransactionAmountRefunded)
	if err != nil {
		return Charge{}, fmt.Errorf("pix: payment %d: transaction_amount_refunded: %w", p.ID, err)
	}
	td := p.PointOfInteraction.TransactionData
	return Charge{
		ID:                strconv.Itoa(p.ID),
		Status:            Status(p.Status),
		StatusDetail:      p.StatusDetail,
		AmountCents:       amount,
		RefundedCents:     refunded,
		ExternalReference: p.ExternalReference,
		QRCode:            td.QRCode,
		QRCodeBase64:      td.QRCodeBase64,
		TicketURL:         td.TicketURL,
		CreateTime:        p.DateCreated,
		ExpireTime:        p.DateOfExpiration,
		ApproveTime:       p.DateApproved,
	}, nil
}
