package notifications

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files of the templates")

// goldenView is what every template is rendered with in the golden files: the fields
// an event does not use are left in to prove the template does not show them.
func goldenView(e notificationsv1.Event) view {
	v := view{
		FirstName: "Maria", Other: "Dra. Ana Souza",
		Start:     formatTime(time.Date(2026, 12, 7, 17, 30, 0, 0, time.UTC), saoPaulo),
		AnswerBy:  formatTime(time.Date(2026, 12, 6, 21, 30, 0, 0, time.UTC), saoPaulo),
		PixExpire: formatTime(time.Date(2026, 12, 2, 15, 31, 0, 0, time.UTC), saoPaulo),
		PixCode:   "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865406250.005802BR5913Healthcore6009SAO PAULO62070503***6304ABCD",
		Price:     formatMoney(25000), Refund: formatMoney(123456), RefundMethod: "PIX",
		Justification: "Tive um imprevisto <no trabalho>.\nDesculpe.",
		ShareEnd:      formatTime(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), saoPaulo),
		When:          formatTime(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC), saoPaulo),
		Address:       "203.0.113.7", Device: "Firefox em Linux",
		Day: "01/12/2026", Reads: 3, Doctors: []string{"Dra. Ana Souza", "Dr. João Pereira"},
		Link:     "https://app.example.com/app/appointments/0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10",
		JoinLink: "https://app.example.com/v1/appointments/0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10/join",
	}
	switch e {
	case notificationsv1.Event_EVENT_BOOKING_AWAITS_ANSWER, notificationsv1.Event_EVENT_ANSWER_DEADLINE_NEAR,
		notificationsv1.Event_EVENT_CANCELLED_BY_PATIENT, notificationsv1.Event_EVENT_SHARE_GRANTED, notificationsv1.Event_EVENT_SHARE_REVOKED:
		v.FirstName, v.Other = "Ana", "Maria" // to the doctor
		if e == notificationsv1.Event_EVENT_SHARE_GRANTED || e == notificationsv1.Event_EVENT_SHARE_REVOKED {
			v.Other = "Maria da Silva"
		}
	}
	if e != notificationsv1.Event_EVENT_CANCELLED_BY_PATIENT {
		v.Justification = "" // only the doctor's cancellation notice carries it
	}
	switch e {
	case notificationsv1.Event_EVENT_EMAIL_VERIFICATION, notificationsv1.Event_EVENT_EMAIL_CHANGE_VERIFICATION, notificationsv1.Event_EVENT_PASSWORD_RESET:
		v.Expire = formatTime(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC), saoPaulo)
		v.Link = "https://app.example.com/app/verify-email?token=q7Xo2mJ0c9vYw1bZkP4sT8eHfR3uN6aL5dG0iK2xQ9E"
		if e == notificationsv1.Event_EVENT_PASSWORD_RESET {
			v.Expire = formatTime(time.Date(2026, 12, 2, 12, 30, 0, 0, time.UTC), saoPaulo)
			v.Link = "https://app.example.com/app/reset-password?token=q7Xo2mJ0c9vYw1bZkP4sT8eHfR3uN6aL5dG0iK2xQ9E"
		}
	case notificationsv1.Event_EVENT_DOCTOR_VERIFICATION:
		v.FirstName, v.Outcome, v.Reason = "Ana", "suspended", "CRM suspenso pelo conselho <regional>."
		v.Link = "https://app.example.com/app/account/verification"
	}
	return v
}

func TestTemplates_Golden(t *testing.T) {
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for v := range notificationsv1.Event_name {
		e := notificationsv1.Event(v)
		if e == notificationsv1.Event_EVENT_UNSPECIFIED {
			continue
		}
		t.Run(eventLabel(e), func(t *testing.T) {
			r, err := tmpl.render(e, goldenView(e))
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "Subject: %s\n\n--- text ---\n%s\n\n--- html ---\n%s\n\n--- whatsapp ---\n", r.Subject, r.Text, r.HTML)
			if r.WhatsApp == nil {
				b.WriteString("(none: e-mail only)\n")
			} else {
				fmt.Fprintf(&b, "template %s (%s)\n", r.WhatsApp.Name, WhatsAppLanguage)
				for i, p := range r.WhatsApp.BodyParams {
					fmt.Fprintf(&b, "{{%d}} %s\n", i+1, p)
				}
				if r.WhatsApp.Button != "" {
					fmt.Fprintf(&b, "button %s\n", r.WhatsApp.Button)
				}
			}
			path := filepath.Join("testdata", eventLabel(e)+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestTemplates_Golden -update)", err)
			}
			if b.String() != string(want) {
				t.Errorf("%s differs from the rendering (go test -run TestTemplates_Golden -update rewrites it):\n%s", path, b.String())
			}
			// No WhatsApp parameter carries the justification, a newline (the API
			// refuses them) or an empty value.
			if r.WhatsApp != nil {
				wt := whatsappTemplates[e]
				if n := strings.Count(wt.Body, "{{"); n != len(r.WhatsApp.BodyParams) {
					t.Errorf("template body has %d parameters, %d given", n, len(r.WhatsApp.BodyParams))
				}
				for _, p := range r.WhatsApp.BodyParams {
					if p == "" || strings.ContainsAny(p, "\n\t") || strings.Contains(p, "imprevisto") {
						t.Errorf("WhatsApp parameter %q", p)
					}
				}
			}
			// The HTML escapes what came from users.
			if strings.Contains(r.HTML, "<no trabalho>") {
				t.Errorf("justification not escaped in HTML")
			}
		})
	}
}

func TestFormatMoneyAndTime(t *testing.T) {
	for cents, want := range map[int64]string{0: "R$ 0,00", 5: "R$ 0,05", 25000: "R$ 250,00", 123456: "R$ 1.234,56", 100000000: "R$ 1.000.000,00"} {
		if got := formatMoney(cents); got != want {
			t.Errorf("formatMoney(%d) = %q, want %q", cents, got, want)
		}
	}
	manaus, _ := time.LoadLocation("America/Manaus")
	at := time.Date(2026, 12, 7, 17, 30, 0, 0, time.UTC)
	if got := formatTime(at, saoPaulo); got != "segunda-feira, 07/12/2026 às 14:30" {
		t.Errorf("São Paulo: %q", got)
	}
	if got := formatTime(at, manaus); got != "segunda-feira, 07/12/2026 às 13:30" {
		t.Errorf("Manaus: %q", got)
	}
}
