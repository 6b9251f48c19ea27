package gateway

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// handWritten documents the routes the edge answers itself, which no proto's http rule
// describes: the record file upload and download (they stream) and the provider's
// webhook. Merged into the generated document by openAPI.
//
//go:embed openapi_routes.json
var handWritten []byte

// openAPI completes the merged document generated from the protos with what no single
// proto file states: the API's title, how to authenticate, and the hand-written routes.
func openAPI(generated []byte) ([]byte, error) {
	if len(generated) == 0 {
		return []byte(`{"swagger":"2.0","info":{"title":"Healthcore API","version":"v1"},"paths":{}}`), nil
	}
	var doc map[string]any
	if err := json.Unmarshal(generated, &doc); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	if err := mergeHandWritten(doc); err != nil {
		return nil, err
	}
	documentTraceID(doc)
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

// documentTraceID adds the edge's traceId to the error answer's schema (rpcStatus).
func documentTraceID(doc map[string]any) {
	defs, _ := doc["definitions"].(map[string]any)
	st, _ := defs["rpcStatus"].(map[string]any)
	if st == nil {
		return
	}
	props, _ := st["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		st["properties"] = props
	}
	props["traceId"] = map[string]any{"type": "string",
		"description": "The request's trace (32 hex digits), when tracing is on: quote it when reporting the error. Also in the Trace-Id header."}
}

// mergeHandWritten adds the hand-written paths, definitions and tags to doc.
func mergeHandWritten(doc map[string]any) error {
	var extra map[string]any
	if err := json.Unmarshal(handWritten, &extra); err != nil {
		return fmt.Errorf("hand-written openapi routes: %w", err)
	}
	for _, section := range []string{"paths", "definitions"} {
		into, _ := doc[section].(map[string]any)
		if into == nil {
			into = map[string]any{}
			doc[section] = into
		}
		from, _ := extra[section].(map[string]any)
		for k, v := range from {
			if _, taken := into[k]; taken {
				return fmt.Errorf("hand-written openapi routes: %s %q is also generated", section, k)
			}
			into[k] = v
		}
	}
	tags, _ := doc["tags"].([]any)
	more, _ := extra["tags"].([]any)
	doc["tags"] = append(tags, more...)
	return nil
}

// uploadTypes are the raw-body forms of the upload route, which Swagger 2.0 cannot
// state beside its multipart form; the OpenAPI 3 document lists them all.
var uploadTypes = []string{"application/pdf", "image/jpeg", "image/png", "image/webp", "application/dicom"}

// OpenAPIv3 is the OpenAPI 3.0 document the edge serves at /openapi.v3.json, made from
// the merged generated document (gen/openapi): what the API Gateway import is built from.
func OpenAPIv3(generated []byte) ([]byte, error) {
	v2, err := openAPI(generated)
	if err != nil {
		return nil, err
	}
	return openAPIv3(v2)
}

// openAPIv3 converts the completed Swagger 2.0 document to OpenAPI 3.0 (what most
// client generators want), served at /openapi.v3.json.
func openAPIv3(v2 []byte) ([]byte, error) {
	var doc2 openapi2.T
	if err := json.Unmarshal(v2, &doc2); err != nil {
		return nil, fmt.Errorf("openapi v3: read the v2 document: %w", err)
	}
	doc3, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("openapi v3: convert: %w", err)
	}
	if item := doc3.Paths.Value(uploadPath); item != nil && item.Post != nil && item.Post.RequestBody != nil && item.Post.RequestBody.Value != nil {
		body := item.Post.RequestBody.Value
		for _, t := range uploadTypes {
			body.Content[t] = openapi3.NewMediaType().WithSchema(openapi3.NewStringSchema().WithFormat("binary"))
		}
		body.Description = "The file itself (its type as Content-Type, the metadata as query parameters), or a multipart form."
	}
	return json.MarshalIndent(doc3, "", "  ")
}
