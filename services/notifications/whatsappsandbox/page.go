package whatsappsandbox

import (
	"html/template"
	"net/http"
	"slices"
)

// page is GET /sandbox/messages: the messages, newest first, and how to make failures.
func (s *Sandbox) page(w http.ResponseWriter, r *http.Request) {
	msgs := s.Messages()
	slices.Reverse(msgs)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTemplate.Execute(w, map[string]any{
		"Messages": msgs, "PhoneNumberID": s.opts.PhoneNumberID, "Webhook": s.opts.WebhookURL != "",
	}); err != nil && r.Context().Err() == nil {
		s.log.WarnContext(r.Context(), "whatsapp sandbox: rendering the page", "error", err)
	}
}

// list is GET /sandbox/messages.json.
func (s *Sandbox) list(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"messages": s.Messages()})
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>WhatsApp sandbox</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;background:#f4f1ea}
.msg{background:#dcf8c6;border-radius:8px;padding:.8rem 1rem;margin:.8rem 0;max-width:40rem;box-shadow:0 1px 1px #0002}
.meta{color:#555;font-size:.85rem}
.text{white-space:pre-wrap;margin:.4rem 0}
.failed{background:#f8d7d7}
code{background:#0001;padding:0 .2rem}
</style></head><body>
<h1>WhatsApp sandbox</h1>
<p class="meta">Phone number id <code>{{.PhoneNumberID}}</code>. {{if not .Webhook}}No webhook URL: statuses are not sent.{{end}}
Numbers ending <code>0000</code> are refused (131026), <code>0001</code> fail by webhook (131026),
<code>0429</code> and <code>0500</code> fail their first attempt (130429, 131000). This page refreshes every 5 s;
<a href="messages.json">JSON</a>.</p>
{{range .Messages}}
<div class="msg{{if eq .Status "failed"}} failed{{end}}">
<div class="meta">to +{{.To}} · {{.Time.Format "2006-01-02 15:04:05 MST"}} · <b>{{.Status}}</b>{{if .ErrorCode}} ({{.ErrorCode}}){{end}}</div>
<div class="meta">template <code>{{.Template}}</code> ({{.Language}})</div>
{{if .Text}}<div class="text">{{.Text}}</div>{{else}}<div class="text">{{range $i, $p := .BodyParams}}{{if $i}} · {{end}}{{$p}}{{end}}</div>{{end}}
{{if .ButtonURL}}<div><a href="{{.ButtonURL}}">{{.ButtonURL}}</a></div>{{else if .URLButtonParam}}<div class="meta">button: {{.URLButtonParam}}</div>{{end}}
<div class="meta">{{.ID}}</div>
</div>
{{else}}<p>No messages yet.</p>{{end}}
</body></html>
`))
