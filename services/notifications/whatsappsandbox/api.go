package whatsappsandbox

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// maxBody bounds request bodies; a template message is a few hundred bytes.
const maxBody = 64 << 10

// versionRE is a Graph API version path segment such as v23.0.
var versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// Handler returns the sandbox's API, its message page and their JSON:
//
//	POST /{version}/{phone-number-id}/messages  the Cloud API's send endpoint
//	GET  /sandbox/messages                      a page listing the messages, newest first
//	GET  /sandbox/messages.json                 the same as {"messages": [...]}, oldest first
//
// It can be mounted under a prefix with http.StripPrefix.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{version}/{phone}/messages", s.send)
	mux.HandleFunc("GET /sandbox/messages", s.page)
	mux.HandleFunc("GET /sandbox/messages.json", s.list)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "sandbox/messages", http.StatusFound)
	})
	return mux
}

// apiError is an answer in the Graph API's error envelope.
type apiError struct {
	status     int
	code       int
	subcode    int
	typ        string
	message    string
	details    string
	retryAfter int // seconds, 0 for no header
}

func (e *apiError) write(w http.ResponseWriter) {
	inner := map[string]any{
		"message": e.message, "type": e.typ, "code": e.code,
		"fbtrace_id": "Sandbox" + strconv.Itoa(e.code),
	}
	if e.subcode != 0 {
		inner["error_subcode"] = e.subcode
	}
	if e.details != "" {
		inner["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": e.details}
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, map[string]any{"error": inner})
}

func invalidParam(details string) *apiError {
	return &apiError{http.StatusBadRequest, 100, 0, "OAuthException", "(#100) Invalid parameter", details, 0}
}

// sendRequest is the part of a send request the sandbox reads.
type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Template         *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			SubType    string `json:"sub_type"`
			Index      string `json:"index"`
			Parameters []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
}

// send is POST /{version}/{phone-number-id}/messages.
func (s *Sandbox) send(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AccessToken)) != 1 {
		(&apiError{http.StatusUnauthorized, 190, 0, "OAuthException",
			"Invalid OAuth access token - Cannot parse access token", "", 0}).write(w)
		return
	}
	if !versionRE.MatchString(r.PathValue("version")) {
		(&apiError{http.StatusBadRequest, 2500, 0, "OAuthException", "Unknown path components: /" + r.PathValue("version"), "", 0}).write(w)
		return
	}
	if r.PathValue("phone") != s.opts.PhoneNumberID {
		(&apiError{http.StatusBadRequest, 100, 33, "GraphMethodException",
			fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation", r.PathValue("phone")),
			"", 0}).write(w)
		return
	}
	var req sendRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&req); err != nil {
		invalidParam("the body is not a JSON object: " + err.Error()).write(w)
		return
	}
	m, aerr := s.accept(&req)
	if aerr != nil {
		aerr.write(w)
		return
	}
	s.add(m)
	s.log.InfoContext(r.Context(), "whatsapp sandbox: message accepted", "id", m.ID, "template", m.Template)
	s.deliver(m)
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": m.To}},
		"messages":          []map[string]string{{"id": m.ID, "message_status": "accepted"}},
	})
}

// accept checks a send request as the API would and returns the message it makes.
func (s *Sandbox) accept(req *sendRequest) (Message, *apiError) {
	if req.MessagingProduct != "whatsapp" {
		return Message{}, invalidParam("messaging_product must be whatsapp")
	}
	if req.RecipientType != "" && req.RecipientType != "individual" {
		return Message{}, invalidParam("the sandbox sends only to individuals")
	}
	to := strings.TrimPrefix(req.To, "+")
	if !isPhone(to) {
		return Message{}, invalidParam("to must be a phone number in international format")
	}
	switch req.Type {
	case "template":
	case "", "text", "image", "document", "audio", "video", "interactive", "location", "contacts", "sticker", "reaction":
		// Free-form messages need a customer-service window, which is opened by the
		// user writing first; nobody writes to the sandbox.
		return Message{}, &apiError{http.StatusBadRequest, 131047, 0, "OAuthException",
			"(#131047) Re-engagement message",
			"Message failed to send because more than 24 hours have passed since the customer last replied to this number.", 0}
	default:
		return Message{}, &apiError{http.StatusBadRequest, 131051, 0, "OAuthException",
			"(#131051) Unsupported message type", "message type " + req.Type + " is not supported", 0}
	}
	if req.Template == nil || req.Template.Name == "" || req.Template.Language.Code == "" {
		return Message{}, &apiError{http.StatusBadRequest, 131008, 0, "OAuthException",
			"(#131008) Required parameter is missing", "template.name and template.language.code are required", 0}
	}
	t := req.Template
	tpl, ok := s.templates[t.Name+"\x00"+t.Language.Code]
	if !ok {
		return Message{}, &apiError{http.StatusNotFound, 132001, 0, "OAuthException",
			"(#132001) Template name does not exist in the translation",
			fmt.Sprintf("template name (%s) does not exist in %s", t.Name, t.Language.Code), 0}
	}
	var body []string
	button, hasButton := "", false
	for _, c := range t.Components {
		switch {
		case c.Type == "body":
			for _, p := range c.Parameters {
				if p.Type != "text" {
					return Message{}, invalidParam("the sandbox's templates take text parameters only")
				}
				if p.Text == "" {
					return Message{}, &apiError{http.StatusBadRequest, 131008, 0, "OAuthException",
						"(#131008) Required parameter is missing", "Parameter of type text is missing text value", 0}
				}
				body = append(body, p.Text)
			}
		case c.Type == "button" && c.SubType == "url" && c.Index == "0" && tpl.URLButton:
			if len(c.Parameters) != 1 || c.Parameters[0].Type != "text" || c.Parameters[0].Text == "" {
				return Message{}, paramMismatch("button at index 0 expects one text parameter")
			}
			button, hasButton = c.Parameters[0].Text, true
		default:
			return Message{}, paramMismatch(fmt.Sprintf("the template has no %s component %s/%s", c.Type, c.SubType, c.Index))
		}
	}
	if len(body) != tpl.BodyParams {
		return Message{}, paramMismatch(fmt.Sprintf("body: number of localizable_params (%d) does not match the expected number of params (%d)", len(body), tpl.BodyParams))
	}
	if tpl.URLButton && !hasButton {
		return Message{}, paramMismatch("button at index 0 of type Url requires a parameter")
	}
	if aerr := s.failOnPurpose(to, t.Name, t.Language.Code, body, button); aerr != nil {
		return Message{}, aerr
	}
	m := Message{
		ID: newMessageID(), To: to, Template: t.Name, Language: t.Language.Code,
		BodyParams: body, URLButtonParam: button, Text: fill(tpl.Body, body),
		Time: s.now().UTC(), Status: "accepted",
	}
	if tpl.ButtonURL != "" && hasButton {
		m.ButtonURL = tpl.ButtonURL + button
	}
	return m, nil
}

func paramMismatch(details string) *apiError {
	return &apiError{http.StatusBadRequest, 132000, 0, "OAuthException",
		"(#132000) Number of parameters does not match the expected number of params", details, 0}
}

// failOnPurpose applies the reserved numbers of the package documentation.
func (s *Sandbox) failOnPurpose(to, name, lang string, body []string, button string) *apiError {
	switch to[len(to)-4:] {
	case "0000":
		return &apiError{http.StatusBadRequest, 131026, 0, "OAuthException", "(#131026) Message undeliverable",
			"Unable to deliver message: the recipient is not a WhatsApp user (sandbox number ending 0000).", 0}
	case "0429":
		if s.firstAttempt(fingerprint(to, name, lang, body, button)) {
			return &apiError{http.StatusTooManyRequests, 130429, 0, "OAuthException", "(#130429) Rate limit hit",
				"Cloud API message throughput has been reached (sandbox number ending 0429: first attempt).", 1}
		}
	case "0500":
		if s.firstAttempt(fingerprint(to, name, lang, body, button)) {
			return &apiError{http.StatusInternalServerError, 131000, 0, "OAuthException", "(#131000) Something went wrong",
				"Message failed to send because of an unknown error (sandbox number ending 0500: first attempt).", 0}
		}
	}
	return nil
}

func fingerprint(to, name, lang string, body []string, button string) string {
	b, _ := json.Marshal([]any{to, name, lang, body, button})
	return string(b)
}

// placeholderRE finds a template's {{1}}, {{2}}… variables.
var placeholderRE = regexp.MustCompile(`\{\{([0-9]+)\}\}`)

// fill replaces {{1}}, {{2}}… in text with params, in one pass: a parameter that
// itself contains "{{2}}" stays as it is.
func fill(text string, params []string) string {
	return placeholderRE.ReplaceAllStringFunc(text, func(ph string) string {
		n, _ := strconv.Atoi(ph[2 : len(ph)-2])
		if n < 1 || n > len(params) {
			return ph
		}
		return params[n-1]
	})
}

// isPhone reports whether s is an international number's digits. It repeats the
// driver's check on purpose: the sandbox does not import the driver it tests.
func isPhone(s string) bool {
	if len(s) < 8 || len(s) > 15 || s[0] == '0' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
