package pixsandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSandbox_SpeaksMercadoPagosRulesOverHTTP(t *testing.T) {
	e := newEnv(t)
	u := e.sb.URL() + "/v1/payments"
	expires := e.clock.Now().Add(2 * time.Hour).In(brasilia).Format(timeLayout)
	body := pixBody("19.99", expires)

	if status, out := call(t, "POST", u, "", "raw-1", body); status != 401 || out["error"] != "unauthorized" {
		t.Errorf("no token: %d %v, want 401 unauthorized", status, out)
	}
	if status, _ := call(t, "POST", u, "TEST-wrong", "raw-1", body); status != 401 {
		t.Errorf("wrong token: %d, want 401", status)
	}
	if status, out := call(t, "POST", u, testAccessToken, "", body); status != 400 || !strings.Contains(fmt.Sprint(out["message"]), "X-Idempotency-Key") {
		t.Errorf("no idempotency key: %d %v, want 400 naming the header", status, out)
	}
	status, first := call(t, "POST", u, testAccessToken, "raw-1", body)
	if status != 201 || first["status"] != "pending" || first["transaction_amount"] != 19.99 {
		t.Fatalf("create: %d %v", status, first)
	}
	// Same key and body (whitespace aside): the same payment. Other body: 409.
	if status, again := call(t, "POST", u, testAccessToken, "raw-1", strings.ReplaceAll(body, ",", ", ")); status != 201 || again["id"] != first["id"] {
		t.Errorf("replay: %d id %v, want 201 and id %v", status, again["id"], first["id"])
	}
	if status, out := call(t, "POST", u, testAccessToken, "raw-1", pixBody("20.00", expires)); status != 409 || out["error"] != "idempotency_key_already_used" {
		t.Errorf("same key, other body: %d %v, want 409 idempotency_key_already_used", status, out)
	}
	for name, bad := range map[string]string{
		"RFC 3339 without milliseconds": pixBody("19.99", e.clock.Now().Add(2*time.Hour).UTC().Format(time.RFC3339)),
		"expiry in 10 minutes":          pixBody("19.99", e.clock.Now().Add(10*time.Minute).In(brasilia).Format(timeLayout)),
		"fraction of a centavo":         pixBody("19.999", expires),
		"card payment":                  strings.Replace(body, `"pix"`, `"visa"`, 1),
	} {
		if status, out := call(t, "POST", u, testAccessToken, "raw-"+name, bad); status != 400 || out["error"] != "bad_request" {
			t.Errorf("%s: %d %v, want 400 bad_request", name, status, out)
		}
	}
	id := fmt.Sprint(int64(first["id"].(float64)))
	if status, out := call(t, "PUT", u+"/"+id, testAccessToken, "", `{"status":"approved"}`); status != 400 {
		t.Errorf("PUT status approved: %d %v, want 400 (only cancelling)", status, out)
	}
	if status, out := call(t, "POST", u+"/"+id+"/refunds", testAccessToken, "raw-refund", ""); status != 400 || out["error"] != "bad_request" {
		t.Errorf("refund of a pending payment: %d %v, want 400", status, out)
	}
	if status, out := call(t, "GET", u+"/77", testAccessToken, "", ""); status != 404 || out["message"] != "Payment not found" {
		t.Errorf("unknown payment: %d %v, want 404", status, out)
	}
}

func TestSandbox_DevControlsAnswerLikeTheAPI(t *testing.T) {
	e := newEnv(t)
	id := e.create("10", "controls-1")
	if err := e.sb.Reject(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if _, got := call(t, "GET", e.sb.URL()+"/v1/payments/"+id, testAccessToken, "", ""); got["status"] != statusRejected || got["status_detail"] != "rejected_by_bank" {
		t.Errorf("after Reject: %v/%v", got["status"], got["status_detail"])
	}
	if status, _ := call(t, "POST", e.sb.URL()+"/sandbox/payments/"+id+"/approve", "", "", ""); status != http.StatusConflict {
		t.Errorf("approving a rejected payment: %d, want 409", status)
	}
	if status, _ := call(t, "POST", e.sb.URL()+"/sandbox/payments/42/approve", "", "", ""); status != http.StatusNotFound {
		t.Errorf("approving an unknown payment: %d, want 404", status)
	}
	if err := e.sb.Approve(context.Background(), "42"); !errors.Is(err, ErrPaymentNotFound) {
		t.Errorf("Approve unknown: error = %v, want %v", err, ErrPaymentNotFound)
	}
}

func TestSandbox_RefundsAnswerWithTheRefundAndTheNewTotal(t *testing.T) {
	e := newEnv(t)
	id := e.create("100", "refunds-1")
	if err := e.sb.Approve(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	u := e.sb.URL() + "/v1/payments/" + id
	status, f := call(t, "POST", u+"/refunds", testAccessToken, "refunds-1-a", `{"amount": 10.5}`)
	if status != 201 || f["amount"] != 10.5 || f["payment_id"] == nil {
		t.Fatalf("partial refund: %d %v, want 201 of 10.5", status, f)
	}
	refundID := fmt.Sprint(int64(f["id"].(float64)))
	if status, got := call(t, "GET", u+"/refunds/"+refundID, testAccessToken, "", ""); status != 200 || got["id"] != f["id"] || got["amount"] != 10.5 {
		t.Errorf("GET the refund: %d %v", status, got)
	}
	if status, got := call(t, "GET", u+"/refunds/77", testAccessToken, "", ""); status != 404 || got["message"] != "Refund not found" {
		t.Errorf("GET an unknown refund: %d %v, want 404", status, got)
	}
	if status, out := call(t, "POST", u+"/refunds", testAccessToken, "refunds-1-b", `{"amount": 89.51}`); status != 400 {
		t.Errorf("refund of more than is left: %d %v, want 400", status, out)
	}
	if status, got := call(t, "POST", u+"/refunds", testAccessToken, "refunds-1-c", ""); status != 201 || got["amount"] != 89.5 {
		t.Errorf("refund of the rest: %d %v, want 201 of 89.5", status, got)
	}
	_, p := call(t, "GET", u, testAccessToken, "", "")
	if p["status"] != statusRefunded || p["transaction_amount_refunded"] != 100.0 || len(p["refunds"].([]any)) != 2 {
		t.Errorf("payment after both refunds: %v refunded %v, %d refunds; want refunded, 100, 2",
			p["status"], p["transaction_amount_refunded"], len(p["refunds"].([]any)))
	}
}
