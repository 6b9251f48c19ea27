package pixsandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Mercado Pago's wire conventions as its documentation gives them, written here apart
// from the pix driver's so the driver is tested against an independent reading.

// Payment statuses, as Mercado Pago names them.
const (
	statusPending    = "pending"
	statusApproved   = "approved"
	statusAuthorized = "authorized"
	statusInProcess  = "in_process"
	statusRejected   = "rejected"
	statusCancelled  = "cancelled"
	statusRefunded   = "refunded"
)

// The window Mercado Pago accepts for a PIX payment's date_of_expiration.
const (
	minExpiry = 30 * time.Minute
	maxExpiry = 30 * 24 * time.Hour
)

// timeLayout is how the API writes dates, yyyy-MM-dd'T'HH:mm:ss.SSSz, e.g.
// 2026-03-01T14:30:00.000-03:00; date_of_expiration must come in it too.
const timeLayout = "2006-01-02T15:04:05.000-07:00"

// brasilia is the offset the API writes dates in; Brazil has had no daylight saving
// time since 2019.
var brasilia = time.FixedZone("BRT", -3*60*60)

func apiTime(t time.Time) string { return t.In(brasilia).Format(timeLayout) }

// signature is a webhook's x-signature header: "ts=<seconds>,v1=<hex>", v1 being the
// HMAC-SHA256, keyed with the webhook secret, of "id:<data.id>;request-id:<x-request-id>;ts:<ts>;".
func signature(secret, dataID, requestID string, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("id:" + dataID + ";request-id:" + requestID + ";ts:" + ts + ";"))
	return "ts=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// maxAmountLen bounds the JSON numbers parseAmount reads: an amount in reais is short,
// and a long exponent would only make big.Rat work.
const maxAmountLen = 32

// parseAmount reads a JSON number of reais ("19.99", "10.5", "1e2") as centavos,
// exactly, refusing fractions of a centavo and amounts past 10^13 reais.
func parseAmount(s string) (int64, error) {
	if len(s) > maxAmountLen {
		return 0, errors.New("too long")
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, errors.New("not a decimal number")
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() {
		return 0, errors.New("fractions of a centavo")
	}
	if n := r.Num(); n.IsInt64() && n.Int64() < 1e15 && n.Int64() > -1e15 {
		return n.Int64(), nil
	}
	return 0, errors.New("out of range")
}

// formatAmount writes centavos as the JSON number of reais the API sends: 1999 →
// 19.99, 1050 → 10.5, 1000 → 10.
func formatAmount(cents int64) string {
	s := new(big.Rat).SetFrac64(cents, 100).FloatString(2)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}
