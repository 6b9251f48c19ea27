package notifications

import (
	"context"
	"strings"
	"testing"

	"healthcore/services/notifications/mailsink"
	"healthcore/services/notifications/sestest"
)

// mailDriver is one e-mail driver under the suite, with a view of what its server
// received and a way to make it refuse a recipient.
type mailDriver struct {
	mailer Mailer
	// received returns the subject, text, HTML and recipient of every message the
	// server accepted.
	received func() []Mail
	refuse   func(addr string)
}

// TestMailers runs the same cases against every e-mail driver: SMTP against the
// in-process SMTP server, SES against the SigV4-checking SES v2 fake.
func TestMailers(t *testing.T) {
	drivers := map[string]func(t *testing.T) mailDriver{
		"smtp": func(t *testing.T) mailDriver {
			sink, err := mailsink.New("127.0.0.1:0", mailsink.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sink.Close() })
			host, port := splitAddr(t, sink.Addr())
			m, err := NewSMTP(SMTPConfig{Host: host, Port: port, TLS: "none"})
			if err != nil {
				t.Fatal(err)
			}
			return mailDriver{mailer: m, refuse: sink.Refuse, received: func() []Mail {
				var out []Mail
				for _, x := range sink.Messages() {
					out = append(out, Mail{To: x.To, Subject: x.Subject, Text: x.Text, HTML: x.HTML, Key: x.MessageID})
				}
				return out
			}}
		},
		"ses": func(t *testing.T) mailDriver {
			fake := sestest.New(t)
			m, err := NewSES(SESConfig{Region: sestest.Region, ConfigurationSet: "healthcore-bounces", Endpoint: fake.URL,
				Credentials: sestest.Credentials()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if errs := fake.SignatureErrors(); len(errs) > 0 {
					t.Errorf("signatures refused: %v", errs)
				}
			})
			return mailDriver{mailer: m, refuse: fake.Reject, received: func() []Mail {
				var out []Mail
				for _, x := range fake.Emails() {
					if x.ConfigurationSet != "healthcore-bounces" {
						t.Errorf("configuration set %q", x.ConfigurationSet)
					}
					out = append(out, Mail{To: x.To[0], Subject: x.Subject, Text: x.Text, HTML: x.HTML, Key: x.Tags["notification"]})
				}
				return out
			}}
		},
	}
	for name, open := range drivers {
		t.Run(name, func(t *testing.T) {
			t.Run("sends subject, text and HTML", func(t *testing.T) {
				d := open(t)
				id, err := d.mailer.Send(context.Background(), Mail{Key: "0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10-email",
					From: "Healthcore <nao-responda@healthcore.example>", To: "maria@example.com", ToName: "Maria da Silva",
					Subject: "Consulta confirmada: segunda-feira, 07/12/2026 às 14:30", Text: "Olá, Maria!\nAté lá.",
					HTML: `<p>Olá, Maria! <a href="https://app.example.com/x">Ver</a></p>`})
				if err != nil {
					t.Fatal(err)
				}
				got := d.received()
				if id == "" || len(got) != 1 {
					t.Fatalf("id %q, received %v", id, got)
				}
				m := got[0]
				if !strings.Contains(m.To, "maria@example.com") || m.Subject != "Consulta confirmada: segunda-feira, 07/12/2026 às 14:30" ||
					strings.TrimSpace(m.Text) != "Olá, Maria!\nAté lá." || !strings.Contains(m.HTML, `href="https://app.example.com/x"`) ||
					!strings.HasPrefix(m.Key, "0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10-email") {
					t.Fatalf("received %+v", m)
				}
			})
			t.Run("a refused recipient is a permanent failure", func(t *testing.T) {
				d := open(t)
				d.refuse("nobody@example.com")
				_, err := d.mailer.Send(context.Background(), Mail{Key: "k-email", From: "nao-responda@healthcore.example",
					To: "nobody@example.com", Subject: "s", Text: "t", HTML: "<p>t</p>"})
				if why, ok := permanentReason(err); !ok || why == "" {
					t.Fatalf("err %v: not permanent", err)
				}
				if len(d.received()) != 0 {
					t.Fatal("a refused message was kept")
				}
			})
		})
	}
}
