package gateway_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"healthcore/gateway"
	"healthcore/services/records"
)

// An update mask names fields by their JSON or their proto names alike (AIP-161), in
// any mix; errors name them by proto name.
func TestGateway_UpdateMaskTakesJSONAndProtoNames(t *testing.T) {
	s := newRecordsStack(t)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{s.up}})
	maria := s.patientToken()
	r := do(t, http.MethodPost, uploadURL(e.url, "Hemograma"), bytes.NewReader(pdf(2048)), bearer(maria, "application/pdf"))
	if r.status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id, _ := r.json(t)["document"].(map[string]any)["id"].(string)
	r = do(t, http.MethodPost, e.url+"/v1/records/groups", strings.NewReader(`{"name":"Exames"}`), bearer(maria, "application/json"))
	if r.status != http.StatusOK {
		t.Fatalf("create group: %d %s", r.status, r.body)
	}
	group, _ := r.json(t)["group"].(map[string]any)["id"].(string)

	patch := func(body string) reply {
		return do(t, http.MethodPatch, e.url+"/v1/records/documents/"+id, strings.NewReader(body), bearer(maria, "application/json"))
	}
	for i, tt := range []struct{ body, title, group string }{
		{`{"groupId":"` + group + `","updateMask":"groupId"}`, "Hemograma", group},
		{`{"groupId":"","updateMask":"group_id"}`, "Hemograma", ""},
		{`{"groupId":"` + group + `","title":"Hemograma 2024","update_mask":"title,group_id"}`, "Hemograma 2024", group},
		{`{"groupId":"","title":"Eco","updateMask":"group_id,title"}`, "Eco", ""},
	} {
		r := patch(tt.body)
		if r.status != http.StatusOK {
			t.Errorf("%d: PATCH %s: %d %s", i, tt.body, r.status, r.body)
			continue
		}
		doc, _ := r.json(t)["document"].(map[string]any)
		if got, _ := doc["groupId"].(string); doc["title"] != tt.title || got != tt.group {
			t.Errorf("%d: PATCH %s: document %v, want title %q group %q", i, tt.body, doc, tt.title, tt.group)
		}
	}
	for _, body := range []string{`{"updateMask":"sizeBytes"}`, `{"updateMask":"size_bytes"}`} {
		r := patch(body)
		got := parseError(t, r)
		if r.status != http.StatusBadRequest || got.reason != records.ReasonUpdateMaskInvalid.Name() || !strings.Contains(got.message+string(r.body), `\"size_bytes\"`) {
			t.Errorf("PATCH %s: %d %s, want UPDATE_MASK_INVALID naming size_bytes", body, r.status, r.body)
		}
	}
}
