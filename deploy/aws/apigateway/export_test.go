package apigateway

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"healthcore/gateway"
	"healthcore/gen/openapi"
	"healthcore/internal/catalog"
	"healthcore/platform/authn"
)

var update = flag.Bool("update", false, "rewrite openapi.json from Example")

// committed is the example document in this folder.
const committed = "openapi.json"

func TestExport_CommittedExampleIsWhatTheGeneratorMakes(t *testing.T) {
	got, err := Export(Example)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(committed, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: run go test ./deploy/aws/apigateway/ -update and commit it", committed)
	}
}

// load reads the committed document as API Gateway's importer would, through
// kin-openapi, and validates it.
func load(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("%s is not valid OpenAPI 3: %v", committed, err)
	}
	return doc
}

func TestExport_TheAuthorizerAndEveryIntegrationAreAPIGatewaysExtensions(t *testing.T) {
	doc := load(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Errorf("openapi %q: API Gateway imports OpenAPI 3.0", doc.OpenAPI)
	}
	if len(doc.Security) != 0 {
		t.Errorf("a global security requirement %v: each route states its own", doc.Security)
	}
	scheme := doc.Components.SecuritySchemes[Scheme]
	if scheme == nil || scheme.Value.Type != "oauth2" || len(doc.Components.SecuritySchemes) != 1 {
		t.Fatalf("security schemes = %v, want only %s (oauth2)", doc.Components.SecuritySchemes, Scheme)
	}
	az, _ := scheme.Value.Extensions["x-amazon-apigateway-authorizer"].(map[string]any)
	jwt, _ := az["jwtConfiguration"].(map[string]any)
	aud, _ := jwt["audience"].([]any)
	if az["type"] != "jwt" || az["identitySource"] != "$request.header.Authorization" ||
		jwt["issuer"] != Example.Issuer || len(aud) != 1 || aud[0] != Example.Audience {
		t.Errorf("authorizer = %v", az)
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			in, _ := op.Extensions["x-amazon-apigateway-integration"].(map[string]any)
			tls, _ := in["tlsConfig"].(map[string]any)
			want := map[string]any{"type": "http_proxy", "httpMethod": "ANY", "uri": Example.ListenerARN, "connectionType": "VPC_LINK",
				"connectionId": Example.VPCLinkID, "payloadFormatVersion": "1.0"}
			for k, v := range want {
				if in[k] != v {
					t.Errorf("%s %s: integration %s = %v, want %v", method, path, k, in[k], v)
				}
			}
			if tls["serverNameToVerify"] != Example.ServerName {
				t.Errorf("%s %s: tlsConfig = %v", method, path, in["tlsConfig"])
			}
			if op.Security == nil {
				t.Errorf("%s %s: no security list (API Gateway would take no authorization by omission)", method, path)
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d operations", n)
	}
	cors, _ := doc.Extensions["x-amazon-apigateway-cors"].(map[string]any)
	if origins, _ := cors["allowOrigins"].([]any); len(origins) != 1 || origins[0] != Example.CORSOrigins[0] {
		t.Errorf("cors = %v", doc.Extensions["x-amazon-apigateway-cors"])
	}
	// The preflight answer API Gateway gives in the edge's place lets a browser send
	// the token and an idempotency key, and read the request id.
	for field, want := range map[string]string{"allowHeaders": "Authorization", "exposeHeaders": "X-Request-Id", "allowMethods": "PATCH"} {
		if got, _ := cors[field].([]any); !slices.Contains(got, any(want)) {
			t.Errorf("cors %s = %v, lacks %s", field, got, want)
		}
	}
	if got, _ := cors["allowHeaders"].([]any); !slices.Contains(got, any("Idempotency-Key")) {
		t.Errorf("cors allowHeaders = %v, lacks Idempotency-Key", got)
	}
}

// Every API route the gateway answers is in the document, behind the authorizer
// exactly when its RPC's access rule (or, for the edge's own routes, its OpenAPI
// entry) needs a token, and the document has no route the gateway does not answer.
func TestExport_EveryRouteOfTheGatewayWithTheAuthorizerItsAccessRuleNeeds(t *testing.T) {
	doc := load(t)
	var ups []gateway.Upstream
	for _, s := range catalog.Services() {
		if s.REST != nil {
			ups = append(ups, gateway.Upstream{Service: s.FQName, Name: s.Name, Addr: "127.0.0.1:1", Register: s.REST})
		}
	}
	g, err := gateway.New(context.Background(), gateway.Options{
		Upstreams: ups, OpenAPI: openapi.JSON,
		Extra: map[string]http.Handler{
			"POST " + gateway.MercadoPagoWebhookPath: http.NotFoundHandler(),
			"GET " + gateway.WhatsAppWebhookPath:     http.NotFoundHandler(),
			"POST " + gateway.WhatsAppWebhookPath:    http.NotFoundHandler(),
			"POST " + gateway.OAuthTokenPath:         http.NotFoundHandler(),
		},
		Tokens: authn.TokenProfile{Alg: authn.AlgRS256, Issuer: "https://api.example.com", Audience: "healthcore-api"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	exported := map[string]bool{} // "METHOD /normalized" → needs a token
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			exported[method+" "+Normalize(path)] = len(*op.Security) > 0
		}
	}
	rules, err := AccessRules()
	if err != nil {
		t.Fatal(err)
	}
	gatewayRoutes := map[string]bool{}
	for _, rt := range g.Routes() {
		if !rt.API && rt.Path != authn.DiscoveryPath {
			continue
		}
		key := rt.Method + " " + Normalize(rt.Path)
		gatewayRoutes[key] = true
		token, ok := exported[key]
		rule, fromProto := rules[key]
		switch {
		case fromProto && !rule.GetPublic() && len(rule.GetRoles()) == 0:
			if ok {
				t.Errorf("%s is internal (services only) but exported", key)
			}
		case !ok:
			t.Errorf("%s: the gateway answers it, the import document lacks it", key)
		case fromProto && token != !rule.GetPublic():
			t.Errorf("%s: authorizer %v, but the access rule says public=%v", key, token, rule.GetPublic())
		}
	}
	for key := range exported {
		if !gatewayRoutes[key] {
			t.Errorf("%s is exported but the gateway does not answer it", key)
		}
	}
	// Anchors, so that a rule read the wrong way round cannot pass unnoticed.
	for key, token := range map[string]bool{
		"POST /v1/accounts/patients": false, "POST /v1/auth/login": false, "GET /v1/doctors": false,
		"GET /.well-known/jwks.json": false, "GET /.well-known/openid-configuration": false, "POST /webhooks/mercadopago": false,
		"GET /webhooks/whatsapp": false, "POST /webhooks/whatsapp": false, "POST /oauth/token": false, "POST /v1/me/password:change": true,
		"GET /v1/me/notification-preferences": true, "PATCH /v1/me/notification-preferences": true, "GET /v1/me/notifications": true,
		"GET /v1/me": true, "POST /v1/appointments": true, "POST /v1/records/documents:upload": true,
		"GET /v1/records/documents/{}:download": true, "POST /v1/admin/signing-keys:rotate": true,
	} {
		if got, ok := exported[key]; !ok || got != token {
			t.Errorf("%s: exported=%v, authorizer=%v; want authorizer=%v", key, ok, got, token)
		}
	}
}

func TestExport_RefusesWhatTheAuthorizerCannotUse(t *testing.T) {
	for name, tweak := range map[string]func(*Options){
		"no issuer":        func(o *Options) { o.Issuer = "" },
		"http issuer":      func(o *Options) { o.Issuer = "http://api.example.com" },
		"issuer with path": func(o *Options) { o.Issuer = "https://api.example.com/auth" },
		"default issuer":   func(o *Options) { o.Issuer = authn.Issuer },
		"no audience":      func(o *Options) { o.Audience = " " },
		"no VPC link":      func(o *Options) { o.VPCLinkID = "" },
		"no listener ARN":  func(o *Options) { o.ListenerARN = "" },
	} {
		o := Example
		tweak(&o)
		if _, err := Export(o); err == nil {
			t.Errorf("%s: exported", name)
		}
	}
}
