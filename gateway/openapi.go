package gateway

import (
	"encoding/json"
	"fmt"
)

// openAPI completes the merged document generated from the protos with what no single
// proto file states: the API's title and how to authenticate.
func openAPI(generated []byte) ([]byte, error) {
	if len(generated) == 0 {
		return []byte(`{"swagger":"2.0","info":{"title":"Healthcore API","version":"v1"},"paths":{}}`), nil
	}
	var doc map[string]any
	if err := json.Unmarshal(generated, &doc); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	doc["info"] = map[string]any{
		"title":   "Healthcore API",
		"version": "v1",
		"description": "REST edge of the Healthcore telemedicine platform. Authenticate with " +
			"POST /v1/auth/login and send the access token as \"Authorization: Bearer <token>\". " +
			"Errors are {code, message, details} with google.rpc details (ErrorInfo reason, " +
			"BadRequest field violations, RetryInfo).",
	}
	doc["securityDefinitions"] = map[string]any{
		"bearer": map[string]any{"type": "apiKey", "name": "Authorization", "in": "header",
			"description": "Bearer <access token>"},
	}
	doc["security"] = []any{map[string]any{"bearer": []any{}}}
	return json.MarshalIndent(doc, "", "  ")
}
