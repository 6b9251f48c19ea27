package whatsapp

// The JSON of the messages endpoint, as Meta's reference shows it.

type sendRequest struct {
	MessagingProduct string          `json:"messaging_product"`
	RecipientType    string          `json:"recipient_type"`
	To               string          `json:"to"`
	Type             string          `json:"type"`
	Template         templatePayload `json:"template"`
}

type templatePayload struct {
	Name       string      `json:"name"`
	Language   language    `json:"language"`
	Components []component `json:"components,omitempty"`
}

type language struct {
	Code string `json:"code"`
}

type component struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"`
	Index      string      `json:"index,omitempty"`
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func newSendRequest(to string, t Template) sendRequest {
	lang := t.Language
	if lang == "" {
		lang = DefaultLanguage
	}
	var comps []component
	if len(t.BodyParams) > 0 {
		params := make([]parameter, len(t.BodyParams))
		for i, p := range t.BodyParams {
			params[i] = parameter{Type: "text", Text: p}
		}
		comps = append(comps, component{Type: "body", Parameters: params})
	}
	if t.URLButtonParam != "" {
		comps = append(comps, component{
			Type: "button", SubType: "url", Index: "0",
			Parameters: []parameter{{Type: "text", Text: t.URLButtonParam}},
		})
	}
	return sendRequest{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		To:               to,
		Type:             "template",
		Template:         templatePayload{Name: t.Name, Language: language{Code: lang}, Components: comps},
	}
}

type sendResponse struct {
	MessagingProduct string `json:"messaging_product"`
	Contacts         []struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

// errorEnvelope is the Graph API's error answer.
type errorEnvelope struct {
	Error *struct {
		Message      string `json:"message"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		ErrorSubcode int    `json:"error_subcode"`
		ErrorData    struct {
			MessagingProduct string `json:"messaging_product"`
			Details          string `json:"details"`
		} `json:"error_data"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}
