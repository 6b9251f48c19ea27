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
			"POST /v1/auth/login and send the access token as `Authorization: Bearer ACCESS_TOKEN`. " +
			"Errors are {code, message, details} with google.rpc details (ErrorInfo reason, " +
			"BadRequest field violations, RetryInfo).",
	}
	doc["securityDefinitions"] = map[string]any{
		"bearer": map[string]any{"type": "apiKey", "name": "Authorization", "in": "header",
			"description": "Bearer <access token>"},
	}
	doc["security"] = []any{map[string]any{"bearer": []any{}}}
	doc["tags"] = usedTags(doc)
	return json.MarshalIndent(doc, "", "  ")
}

// usedTags keeps the tags (services) that have at least one REST operation: internal
// services have none and would show as empty sections on the API page.
func usedTags(doc map[string]any) []any {
	used := map[string]bool{}
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, op := range ops {
			o, _ := op.(map[string]any)
			tags, _ := o["tags"].([]any)
			for _, t := range tags {
				if name, ok := t.(string); ok {
					used[name] = true
				}
			}
		}
	}
	var out []any
	all, _ := doc["tags"].([]any)
	for _, t := range all {
		if m, ok := t.(map[string]any); ok && used[fmt.Sprint(m["name"])] {
			out = append(out, t)
		}
	}
	return out
}
