package notifications

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/services/notifications/whatsappsandbox"
)

// Templates: one file per event under templates/, named after the event without its
// EVENT_ prefix, lower-cased (booking_confirmed.tmpl). Each defines "subject" and
// "text" (text/template) and "html" (html/template, inside layout.tmpl's "layout").
// The same file is parsed by both packages; each executes only its own blocks, so
// the HTML is escaped contextually and the text is not.
//
//go:embed templates/*.tmpl
var templateFS embed.FS

// rendered is a message in every form a channel sends.
type rendered struct {
	Subject, Text, HTML string
	// WhatsApp is the approved template and its parameters; nil when the event has
	// none (it then goes by e-mail).
	WhatsApp *waMessage
}

// waMessage is a WhatsApp template message.
type waMessage struct {
	Name       string
	BodyParams []string
	// Button is the dynamic part of the template's URL button (a path on the app).
	Button string
}

// view is what a template sees: everything already formatted for the recipient
// (times in their time zone, money in reais), and nothing they do not already know.
type view struct {
	FirstName string // the recipient's
	// Other is the other party's name: the patient's first name (to a doctor about a
	// booking), the patient's full name (to a doctor about a share), the doctor's name
	// (to a patient).
	Other         string
	Start         string
	AnswerBy      string
	PixExpire     string
	PixCode       string
	Price         string
	Refund        string
	RefundMethod  string
	Justification string
	ShareEnd      string
	When          string
	Expire        string // when an account link stops working
	Address       string
	Device        string
	Day           string
	Reads         int32
	Doctors       []string
	// Outcome is a doctor verification's decision ("verified", "rejected",
	// "suspended"); Reason the operator's words.
	Outcome, Reason string
	// Link is the app page to act on; JoinLink the consultation room.
	Link, JoinLink string
	// TimeZone names the zone of the times shown when it is not Brasília's.
	TimeZone string
}

// templates holds the parsed templates of every event.
type templates struct {
	text map[notificationsv1.Event]*texttemplate.Template
	html map[notificationsv1.Event]*htmltemplate.Template
}

func eventFile(e notificationsv1.Event) string {
	return strings.ToLower(strings.TrimPrefix(e.String(), "EVENT_")) + ".tmpl"
}

// parseTemplates parses every event's template; a missing or broken one is an error
// (a test parses them all, so a build cannot ship without them).
func parseTemplates() (*templates, error) {
	t := &templates{text: map[notificationsv1.Event]*texttemplate.Template{}, html: map[notificationsv1.Event]*htmltemplate.Template{}}
	layout, err := templateFS.ReadFile("templates/layout.tmpl")
	if err != nil {
		return nil, err
	}
	for v := range notificationsv1.Event_name {
		e := notificationsv1.Event(v)
		if e == notificationsv1.Event_EVENT_UNSPECIFIED {
			continue
		}
		src, err := templateFS.ReadFile("templates/" + eventFile(e))
		if err != nil {
			return nil, fmt.Errorf("notifications: template of %s: %w", e, err)
		}
		tt, err := texttemplate.New(eventFile(e)).Funcs(textFuncs).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("notifications: %s: %w", eventFile(e), err)
		}
		ht, err := htmltemplate.New(eventFile(e)).Funcs(htmlFuncs).Parse(string(layout) + string(src))
		if err != nil {
			return nil, fmt.Errorf("notifications: %s: %w", eventFile(e), err)
		}
		t.text[e], t.html[e] = tt, ht
	}
	return t, nil
}

var textFuncs = texttemplate.FuncMap{"join": strings.Join}
var htmlFuncs = htmltemplate.FuncMap{"join": strings.Join}

// render produces an event's subject, text, HTML and WhatsApp message.
func (t *templates) render(e notificationsv1.Event, v view) (rendered, error) {
	var out rendered
	var b bytes.Buffer
	for _, part := range []struct {
		name string
		dst  *string
	}{{"subject", &out.Subject}, {"text", &out.Text}} {
		b.Reset()
		if err := t.text[e].ExecuteTemplate(&b, part.name, v); err != nil {
			return rendered{}, fmt.Errorf("render %s %s: %w", e, part.name, err)
		}
		*part.dst = strings.TrimSpace(b.String())
	}
	b.Reset()
	if err := t.html[e].ExecuteTemplate(&b, "layout", v); err != nil {
		return rendered{}, fmt.Errorf("render %s html: %w", e, err)
	}
	out.HTML = b.String()
	out.Subject = strings.Join(strings.Fields(out.Subject), " ")
	if wt, ok := whatsappTemplates[e]; ok {
		params := wt.params(v)
		for i, p := range params {
			if strings.TrimSpace(p) == "" {
				params[i] = "—" // the API refuses an empty parameter; an event that left a field out still goes
			}
		}
		out.WhatsApp = &waMessage{Name: wt.Name, BodyParams: params, Button: wt.button(v)}
	}
	return out, nil
}

// formatMoney writes centavos as reais the Brazilian way: R$ 1.234,56.
func formatMoney(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	reais := fmt.Sprint(cents / 100)
	var g []string
	for len(reais) > 3 {
		g = append([]string{reais[len(reais)-3:]}, g...)
		reais = reais[:len(reais)-3]
	}
	g = append([]string{reais}, g...)
	return fmt.Sprintf("%sR$ %s,%02d", sign, strings.Join(g, "."), cents%100)
}

var weekdays = [...]string{"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"}

// formatTime writes a time in loc the Brazilian way: "segunda-feira, 07/12/2026 às 14:30".
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	return fmt.Sprintf("%s, %s às %s", weekdays[t.Weekday()], t.Format("02/01/2006"), t.Format("15:04"))
}

// whatsappTemplate is an approved WhatsApp template: its name, its body as submitted
// to Meta (for the sandbox's page and the README), and how its parameters come from
// the view. No parameter carries health detail: no reason, no justification, no
// document.
type whatsappTemplate struct {
	Name   string
	Body   string
	params func(view) []string
	// button is the URL button's dynamic suffix; nil when the template has none.
	buttonFn func(view) string
}

func (w whatsappTemplate) button(v view) string {
	if w.buttonFn == nil {
		return ""
	}
	return w.buttonFn(v)
}

// linkPath is the button's parameter: the link's path on the app (the template's
// button URL is the app's base URL followed by {{1}}).
func linkPath(v view) string { return pathOf(v.Link) }
func joinPath(v view) string { return pathOf(v.JoinLink) }

func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "/"); j >= 0 {
			return strings.TrimPrefix(u[i+3+j:], "/")
		}
		return ""
	}
	return strings.TrimPrefix(u, "/")
}

// WhatsAppLanguage is the language of every template.
const WhatsAppLanguage = "pt_BR"

var whatsappTemplates = map[notificationsv1.Event]whatsappTemplate{
	notificationsv1.Event_EVENT_BOOKING_AWAITS_ANSWER: {Name: "hc_consulta_aguarda_resposta",
		Body:   "Olá, {{1}}! {{2}} agendou e pagou uma consulta para {{3}} ({{4}}). Aceite ou recuse até {{5}}; sem resposta, a consulta é recusada e o valor devolvido.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.Start, v.Price, v.AnswerBy} }, buttonFn: linkPath},
	notificationsv1.Event_EVENT_ANSWER_DEADLINE_NEAR: {Name: "hc_prazo_resposta_proximo",
		Body:   "{{1}}, a consulta de {{2}} em {{3}} ainda espera sua resposta. Responda até {{4}}.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.Start, v.AnswerBy} }, buttonFn: linkPath},
	notificationsv1.Event_EVENT_BOOKING_PENDING_PAYMENT: {Name: "hc_pagamento_pendente",
		Body:   "Olá, {{1}}! Sua consulta de {{2}} está reservada. Pague {{3}} por PIX até {{4}}; o código copia e cola está no app e no seu e-mail.",
		params: func(v view) []string { return []string{v.FirstName, v.Start, v.Price, v.PixExpire} }, buttonFn: linkPath},
	notificationsv1.Event_EVENT_PAYMENT_RECEIVED: {Name: "hc_pagamento_recebido",
		Body:   "{{1}}, recebemos seu pagamento. {{2}} responde até {{3}}.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.AnswerBy} }, buttonFn: linkPath},
	notificationsv1.Event_EVENT_BOOKING_CONFIRMED: {Name: "hc_consulta_confirmada",
		Body:   "{{1}}, {{2}} confirmou sua consulta de {{3}}. A sala abre 10 minutos antes.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.Start} }, buttonFn: linkPath},
	notificationsv1.Event_EVENT_BOOKING_REFUSED: {Name: "hc_consulta_recusada",
		Body:   "{{1}}, {{2}} não pôde aceitar a consulta de {{3}}. Devolvemos {{4}} por PIX.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.Start, v.Refund} }},
	notificationsv1.Event_EVENT_BOOKING_EXPIRED: {Name: "hc_reserva_expirada",
		Body:   "{{1}}, a reserva da consulta de {{2}} expirou sem pagamento e o horário foi liberado. Nada foi cobrado.",
		params: func(v view) []string { return []string{v.FirstName, v.Start} }},
	notificationsv1.Event_EVENT_BOOKING_NOT_ANSWERED: {Name: "hc_consulta_sem_resposta",
		Body:   "{{1}}, {{2}} não respondeu a tempo sobre a consulta de {{3}}. Devolvemos {{4}} por PIX.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.Start, v.Refund} }},
	notificationsv1.Event_EVENT_REFUND_COMPLETED: {Name: "hc_reembolso_concluido",
		Body:   "{{1}}, o reembolso de {{2}} por {{3}} foi concluído.",
		params: func(v view) []string { return []string{v.FirstName, v.Refund, v.RefundMethod} }},
	notificationsv1.Event_EVENT_CANCELLED_BY_PATIENT: {Name: "hc_cancelada_pelo_paciente",
		Body:   "{{1}}, {{2}} cancelou a consulta de {{3}}. O motivo está no app.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.Start} }, buttonFn: linkPath},
	notificationsv1.Event_EVENT_CANCELLED_BY_DOCTOR: {Name: "hc_cancelada_pelo_medico",
		Body:   "{{1}}, {{2}} cancelou a consulta de {{3}}. Devolvemos {{4}} por PIX.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.Start, v.Refund} }},
	notificationsv1.Event_EVENT_REMINDER_24H: {Name: "hc_lembrete_24h",
		Body:   "{{1}}, lembrete: sua consulta com {{2}} é {{3}}. Teste câmera e microfone antes de entrar.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.Start} }, buttonFn: joinPath},
	notificationsv1.Event_EVENT_REMINDER_15MIN: {Name: "hc_lembrete_15min",
		Body:   "{{1}}, sua consulta com {{2}} começa em 15 minutos ({{3}}). Entre na sala pelo botão abaixo.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.Start} }, buttonFn: joinPath},
	notificationsv1.Event_EVENT_SHARE_GRANTED: {Name: "hc_compartilhamento_concedido",
		Body:   "{{1}}, {{2}} compartilhou documentos do prontuário com você até {{3}}.",
		params: func(v view) []string { return []string{v.FirstName, v.Other, v.ShareEnd} }, buttonFn: linkPath},
	notificationsv1.Event_EVENT_SHARE_REVOKED: {Name: "hc_compartilhamento_revogado",
		Body:   "{{1}}, {{2}} encerrou o compartilhamento de documentos com você.",
		params: func(v view) []string { return []string{v.FirstName, v.Other} }},
	notificationsv1.Event_EVENT_NEW_DEVICE_LOGIN: {Name: "hc_novo_acesso",
		Body:   "{{1}}, houve um acesso à sua conta Healthcore em {{2}} ({{3}}). Se não foi você, troque a senha agora.",
		params: func(v view) []string { return []string{v.FirstName, v.When, v.Device} }, buttonFn: linkPath},
	notificationsv1.Event_EVENT_PASSWORD_CHANGED: {Name: "hc_senha_alterada",
		Body:   "{{1}}, a senha da sua conta Healthcore foi alterada em {{2}}. Se não foi você, fale conosco agora.",
		params: func(v view) []string { return []string{v.FirstName, v.When} }, buttonFn: linkPath},
	// The read digest is e-mail only: it names doctors who read health documents. A
	// doctor verification decision is e-mail only too: its reason is an operator's free
	// text, which no approved template can carry.
}

// SandboxTemplates are the WhatsApp templates as the sandbox registers them (what the
// Meta business account must have approved in production, with the app's base URL as
// the URL button's prefix).
func SandboxTemplates(appBaseURL string) []whatsappsandbox.Template {
	var out []whatsappsandbox.Template
	for _, t := range whatsappTemplates {
		out = append(out, whatsappsandbox.Template{
			Name: t.Name, Language: WhatsAppLanguage, BodyParams: strings.Count(t.Body, "{{"), Body: t.Body,
			URLButton: t.buttonFn != nil, ButtonURL: strings.TrimSuffix(appBaseURL, "/") + "/",
		})
	}
	return out
}
