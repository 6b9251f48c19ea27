package gateway_test

import (
	"net/http"
	"slices"
	"testing"

	"healthcore/gateway"
	"healthcore/platform/server"
)

// A stray control character or a blank name reaches the edge as 400 naming the
// field, never as the database's refusal (a 500).
func TestGateway_ControlCharactersAndBlankNamesAre400(t *testing.T) {
	t.Parallel()
	up, _ := identityUpstream(t, nil)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{up}})
	tests := []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"NUL in the name", func(p map[string]any) { p["name"] = "Maria\u0000 da Silva" }, "name"},
		{"escape in the e-mail", func(p map[string]any) { p["email"] = "maria\u001b@exemplo.com.br" }, "email"},
		{"blank name", func(p map[string]any) { p["name"] = "   \u00a0 " }, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := patient("maria@exemplo.com.br", "529.982.247-25")
			tt.edit(p)
			r := postJSON(t, e.url+"/v1/accounts/patients", p)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if got := parseError(t, r); got.reason != server.ReasonValidationFailed.Name() || !slices.Contains(got.fields, tt.field) {
				t.Errorf("%s, want VALIDATION_FAILED naming %s", r.body, tt.field)
			}
		})
	}
}
