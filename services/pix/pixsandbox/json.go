package pixsandbox

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
)

// The sandbox's answers, shaped as Mercado Pago's payment and refund resources (the
// fields the SDK's types and a PIX integration read). Amounts are json.Number written
// from centavos, so 1999 is exactly 19.99 on the wire.

type paymentResource struct {
	ID                        int64             `json:"id"`
	DateCreated               string            `json:"date_created"`
	DateApproved              *string           `json:"date_approved"`
	DateLastUpdated           string            `json:"date_last_updated"`
	DateOfExpiration          string            `json:"date_of_expiration"`
	MoneyReleaseDate          *string           `json:"money_release_date"`
	OperationType             string            `json:"operation_type"`
	PaymentMethodID           string            `json:"payment_method_id"`
	PaymentTypeID             string            `json:"payment_type_id"`
	PaymentMethod             map[string]string `json:"payment_method"`
	Status                    string            `json:"status"`
	StatusDetail              string            `json:"status_detail"`
	CurrencyID                string            `json:"currency_id"`
	Description               string            `json:"description"`
	LiveMode                  bool              `json:"live_mode"`
	CollectorID               int64             `json:"collector_id"`
	Payer                     payerResource     `json:"payer"`
	Metadata                  map[string]any    `json:"metadata"`
	ExternalReference         string            `json:"external_reference"`
	TransactionAmount         json.Number       `json:"transaction_amount"`
	TransactionAmountRefunded json.Number       `json:"transaction_amount_refunded"`
	Installments              int               `json:"installments"`
	TransactionDetails        struct {
		NetReceivedAmount json.Number `json:"net_received_amount"`
		TotalPaidAmount   json.Number `json:"total_paid_amount"`
		OverpaidAmount    json.Number `json:"overpaid_amount"`
		InstallmentAmount json.Number `json:"installment_amount"`
	} `json:"transaction_details"`
	PointOfInteraction struct {
		Type            string `json:"type"`
		TransactionData struct {
			QRCode       string `json:"qr_code"`
			QRCodeBase64 string `json:"qr_code_base64"`
			TicketURL    string `json:"ticket_url"`
		} `json:"transaction_data"`
	} `json:"point_of_interaction"`
	Refunds         []refundResource `json:"refunds"`
	FeeDetails      []any            `json:"fee_details"`
	NotificationURL string           `json:"notification_url"`
	Captured        bool             `json:"captured"`
	BinaryMode      bool             `json:"binary_mode"`
}

type payerResource struct {
	Email          string `json:"email"`
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
	Identification struct {
		Type   string `json:"type"`
		Number string `json:"number"`
	} `json:"identification"`
}

type refundResource struct {
	ID                   int64             `json:"id"`
	PaymentID            int64             `json:"payment_id"`
	Amount               json.Number       `json:"amount"`
	AdjustmentAmount     json.Number       `json:"adjustment_amount"`
	Source               map[string]string `json:"source"`
	DateCreated          string            `json:"date_created"`
	Status               string            `json:"status"`
	RefundMode           string            `json:"refund_mode"`
	UniqueSequenceNumber *string           `json:"unique_sequence_number"`
}

func amountNumber(cents int64) json.Number { return json.Number(formatAmount(cents)) }

func paymentJSON(p *payment) paymentResource {
	r := paymentResource{
		ID: p.ID, DateCreated: apiTime(p.CreatedAt), DateLastUpdated: apiTime(p.UpdatedAt),
		DateOfExpiration: apiTime(p.ExpiresAt), OperationType: "regular_payment",
		PaymentMethodID: "pix", PaymentTypeID: "bank_transfer",
		PaymentMethod: map[string]string{"id": "pix", "type": "bank_transfer"},
		Status:        p.Status, StatusDetail: p.StatusDetail, CurrencyID: "BRL", Description: p.Description,
		CollectorID: collectorID, Metadata: map[string]any{}, ExternalReference: p.ExternalReference,
		TransactionAmount: amountNumber(p.AmountCents), TransactionAmountRefunded: amountNumber(p.RefundedCents),
		Installments: 1, Refunds: []refundResource{}, FeeDetails: []any{}, NotificationURL: p.NotificationURL,
		Captured: true,
	}
	r.Payer.Email, r.Payer.FirstName, r.Payer.LastName = p.PayerEmail, p.PayerFirstName, p.PayerLastName
	r.Payer.Identification.Type, r.Payer.Identification.Number = p.PayerIDType, p.PayerIDNumber
	if p.ApprovedAt != nil {
		t := apiTime(*p.ApprovedAt)
		r.DateApproved, r.MoneyReleaseDate = &t, &t
	}
	paid := int64(0)
	if p.ApprovedAt != nil {
		paid = p.AmountCents
	}
	td := &r.TransactionDetails
	td.NetReceivedAmount, td.TotalPaidAmount = amountNumber(paid), amountNumber(paid)
	td.OverpaidAmount, td.InstallmentAmount = amountNumber(0), amountNumber(0)
	r.PointOfInteraction.Type = "OPENPLATFORM"
	data := &r.PointOfInteraction.TransactionData
	data.QRCode, data.QRCodeBase64, data.TicketURL = p.QRCode, p.QRCodeBase64, p.TicketURL
	for _, f := range p.Refunds {
		r.Refunds = append(r.Refunds, refundJSON(f))
	}
	return r
}

func refundJSON(f refund) refundResource {
	return refundResource{
		ID: f.ID, PaymentID: f.PaymentID, Amount: amountNumber(f.AmountCents), AdjustmentAmount: amountNumber(0),
		Source:      map[string]string{"id": strconv.Itoa(collectorID), "name": merchant, "type": "collector"},
		DateCreated: apiTime(f.CreatedAt), Status: "approved", RefundMode: "standard",
	}
}

var ticketPage = template.Must(template.New("ticket").Parse(`<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>PIX {{.ID}} — sandbox</title>
<style>body{font-family:sans-serif;max-width:34rem;margin:2rem auto}textarea{width:100%;height:6rem}</style></head>
<body><h1>PIX R$ {{.Amount}}</h1>
<p>{{.Description}}</p>
<p>Status: <b>{{.Status}}</b> ({{.StatusDetail}}) · expires {{.Expires}}</p>
<img alt="PIX QR code" width="300" height="300" src="data:image/png;base64,{{.QRCodeBase64}}">
<p>Pix copia e cola:</p><textarea readonly>{{.QRCode}}</textarea>
{{if .Pending}}<form method="post" action="/sandbox/payments/{{.ID}}/approve"><button>Pay (approve)</button></form>
<form method="post" action="/sandbox/payments/{{.ID}}/reject"><button>Reject</button></form>{{end}}
<p><small>Healthcore PIX sandbox: no money moves.</small></p></body></html>`))

// ticket serves a payment's ticket_url: the code, its QR image and, while pending,
// buttons that approve or reject it.
func (s *Sandbox) ticket(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err == nil {
		_, err = s.expireDue(r.Context(), id)
	}
	var p *payment
	if err == nil {
		p, err = readPayment(r.Context(), s.db, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = ticketPage.Execute(w, map[string]any{
		"ID": p.ID, "Amount": formatAmount(p.AmountCents), "Description": p.Description, "Status": p.Status,
		"StatusDetail": p.StatusDetail, "Expires": apiTime(p.ExpiresAt), "QRCode": p.QRCode,
		"QRCodeBase64": template.URL(p.QRCodeBase64), "Pending": p.Status == statusPending,
	})
}
