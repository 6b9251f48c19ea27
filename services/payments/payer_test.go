package payments

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
)

func TestSaga_APatientWithA200CharacterNameBooksAndPays(t *testing.T) {
	f := newFixture(t, false) // the sandbox's webhook reaches payments
	f.runScheduling()
	// 200 characters (accented, so more bytes than runes): the longest name identity
	// takes, twice what a PIX payer's name may hold.
	name := "Maria " + strings.Repeat("Conceição ", 18) + "Alves Oliveira"
	if n := utf8.RuneCountInString(name); n != 200 {
		t.Fatalf("name has %d characters, want 200", n)
	}
	b, _, _ := f.realBookingBy(f.patientNamed(name))
	pay := f.charged(b)
	f.approve(pay.GetProviderPaymentId())
	f.waitStatus(b, paymentsv1.PaymentStatus_PAYMENT_STATUS_PAID)
	f.waitAppointment(b, "AWAITING_DOCTOR")

	// The provider got the name cut at word boundaries, the family name kept.
	var first, last string
	if err := f.sandboxDB.QueryRow(context.Background(), `SELECT payer_first_name, payer_last_name FROM payments WHERE id = $1`,
		pay.GetProviderPaymentId()).Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("Conceição ", 9) + "Oliveira"; first != "Maria" || last != want {
		t.Errorf("payer %q %q, want %q %q", first, last, "Maria", want)
	}
}

func TestPayerNames_FitTheProvidersLimitAtWordBoundaries(t *testing.T) {
	long := strings.Repeat("é", 150)
	cases := []struct{ first, last, wantFirst, wantLast string }{
		{"Maria", "da Silva", "Maria", "da Silva"},
		{"", "", "", ""},
		// One word longer than the limit is cut at a character, never inside one.
		{long, "Souza", strings.Repeat("é", 100), "Souza"},
		{"Ana", long, "Ana", strings.Repeat("é", 100)},
		// Middle names go first; the family name stays.
		{"Ana", strings.Repeat("Beatriz ", 20) + "Souza", "Ana", strings.TrimSpace(strings.Repeat("Beatriz ", 11)) + " Souza"},
		// Exactly the limit is kept whole.
		{"Ana", strings.Repeat("b", 94) + " Souza", "Ana", strings.Repeat("b", 94) + " Souza"},
		// Only a family name that alone is too long: cut.
		{"Ana", "de " + long, "Ana", strings.Repeat("é", 100)},
	}
	for _, tc := range cases {
		first, last := payerNames(tc.first, tc.last)
		if first != tc.wantFirst || last != tc.wantLast {
			t.Errorf("payerNames(%q, %q) = %q, %q; want %q, %q", tc.first, tc.last, first, last, tc.wantFirst, tc.wantLast)
		}
	}
}
