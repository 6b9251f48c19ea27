package mailsink

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
)

// Handler serves the inbox under prefix (e.g. "/dev/mail"): GET prefix lists the
// messages, GET prefix/{id} shows one rendered (its HTML in a sandboxed frame, its
// text beside it), GET prefix/{id}/html the HTML alone (the frame's source), and GET
// prefix/messages.json the inbox as JSON, newest first (for tests and scripts).
func (s *Sink) Handler(prefix string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/messages.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(s.Messages())
	})
	mux.HandleFunc("GET "+prefix, func(w http.ResponseWriter, r *http.Request) {
		render(w, listPage, map[string]any{"Prefix": prefix, "Messages": s.Messages()})
	})
	mux.HandleFunc("GET "+prefix+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.byPath(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		render(w, messagePage, map[string]any{"Prefix": prefix, "M": m})
	})
	mux.HandleFunc("GET "+prefix+"/{id}/html", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.byPath(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		// The message's own HTML, as a mail client shows it; its scripts cannot run
		// (the frame is sandboxed and the policy forbids them), its links open in a
		// new tab.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN") // shown in the message page's frame
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(m.HTML))
	})
	return mux
}

func (s *Sink) byPath(r *http.Request) (Message, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		return Message{}, false
	}
	return s.Get(id)
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The pages load nothing but their inline style and the message's frame.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'")
	if err := t.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var listPage = template.Must(template.New("list").Parse(`<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>Caixa de entrada (dev)</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left;border-bottom:1px solid #ddd}</style></head>
<body><h1>Caixa de entrada de desenvolvimento</h1>
<p>Every e-mail the notifications service sent in this <code>healthcore dev</code> process (newest first; kept in memory).</p>
<table><tr><th>#</th><th>when</th><th>to</th><th>subject</th><th>copies</th></tr>
{{range .Messages}}<tr><td>{{.ID}}</td><td>{{.Time.Format "2006-01-02 15:04:05"}}</td><td>{{.To}}</td>
<td><a href="{{$.Prefix}}/{{.ID}}">{{.Subject}}</a></td><td>{{.Copies}}</td></tr>
{{else}}<tr><td colspan="5">No mail yet.</td></tr>{{end}}
</table></body></html>`))

var messagePage = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>{{.M.Subject}}</title>
<style>body{font-family:sans-serif;margin:2em}iframe{width:100%;height:32em;border:1px solid #ccc}pre{white-space:pre-wrap;background:#f6f6f6;padding:1em}</style></head>
<body><p><a href="{{.Prefix}}">← inbox</a></p>
<h1>{{.M.Subject}}</h1>
<p>From {{.M.From}} to {{.M.To}}, {{.M.Time.Format "2006-01-02 15:04:05"}} · Message-ID &lt;{{.M.MessageID}}&gt; · copies {{.M.Copies}}</p>
<iframe sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation" src="{{.Prefix}}/{{.M.ID}}/html"></iframe>
<h2>Plain text</h2><pre>{{.M.Text}}</pre></body></html>`))
