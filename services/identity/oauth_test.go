package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"healthcore/gateway"
	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/openapi"
	"healthcore/platform/testkit"
)

// edge is the REST edge in front of identity: its REST routes and the token endpoint.
func (f *partnerFixture) edge() string {
	f.t.Helper()
	u, err := url.Parse(f.URL)
	if err != nil {
		f.t.Fatal(err)
	}
	conn, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = conn.Close() })
	log := testkit.Logger(f.t)
	g, err := gateway.New(context.Background(), gateway.Options{
		Upstreams: []gateway.Upstream{{Service: identityv1connect.IdentityServiceName, Name: "identity", Addr: u.Host,
			Register: identityv1.RegisterIdentityServiceHandler}},
		Logger: log, OpenAPI: openapi.JSON,
		Extra: map[string]http.Handler{"POST " + gateway.OAuthTokenPath: gateway.OAuthToken(identityv1.NewIdentityServiceClient(conn), log)},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(ctx, ln) }()
	f.t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// answer is an HTTP answer with its JSON body.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	return a
}

// tokenRequest is a POST /oauth/token with the form and, when id is not empty, HTTP
// Basic client authentication.
func tokenRequest(t *testing.T, edge, form, id, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, edge+gateway.OAuthTokenPath, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return req
}

// An operator creates a client through the REST edge, and the client's system gets
// tokens at POST /oauth/token as RFC 6749 answers them; each error is section 5.2's.
func TestOAuthToken_ThroughTheRESTEdge(t *testing.T) {
	f := newPartnerFixture(t)
	edge := f.edge()
	clinic := uuid.NewString()
	body, _ := json.Marshal(map[string]any{"clinicId": clinic, "name": "Clínica Sol", "scopes": []string{"agenda.read", "appointments.read"}})
	create, _ := http.NewRequest(http.MethodPost, edge+"/v1/admin/partner-clients", bytes.NewReader(body))
	create.Header.Set("Authorization", "Bearer "+f.AdminToken())
	created := call(t, create)
	if created.status != http.StatusOK {
		t.Fatalf("create client: %d %v", created.status, created.body)
	}
	client, _ := created.body["client"].(map[string]any)
	id, _ := client["clientId"].(string)
	secret, _ := created.body["clientSecret"].(string)

	ok := call(t, tokenRequest(t, edge, "grant_type=client_credentials&scope=agenda.read", id, secret))
	if ok.status != http.StatusOK || ok.body["token_type"] != "Bearer" || ok.body["expires_in"] != 600.0 || ok.body["scope"] != "agenda.read" ||
		ok.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token: %d %v %v", ok.status, ok.body, ok.header)
	}
	p := f.principal(ok.body["access_token"].(string))
	if p.Role != accessv1.Role_ROLE_PARTNER || p.ClientID != id || p.ClinicID != clinic || len(p.Scopes) != 1 || p.Scopes[0] != "agenda.read" {
		t.Errorf("the token names %+v", p)
	}
	all := call(t, tokenRequest(t, edge, "grant_type=client_credentials", id, secret))
	if all.status != http.StatusOK || all.body["scope"] != "agenda.read appointments.read" {
		t.Errorf("no scope asked: %d %v, want every scope of the client", all.status, all.body)
	}

	tests := []struct {
		name   string
		req    *http.Request
		status int
		error  string
	}{
		{"no client authentication", tokenRequest(t, edge, "grant_type=client_credentials", "", ""), 401, "invalid_client"},
		{"wrong secret", tokenRequest(t, edge, "grant_type=client_credentials", id, "not-the-secret"), 401, "invalid_client"},
		{"unknown client", tokenRequest(t, edge, "grant_type=client_credentials", uuid.NewString(), secret), 401, "invalid_client"},
		{"secret in the body (client_secret_post)", tokenRequest(t, edge,
			"grant_type=client_credentials&client_id="+id+"&client_secret="+secret, "", ""), 401, "invalid_client"},
		{"scope not held", tokenRequest(t, edge, "grant_type=client_credentials&scope=agenda.write", id, secret), 400, "invalid_scope"},
		{"password grant", tokenRequest(t, edge, "grant_type=password&username=a&password=b", id, secret), 400, "unsupported_grant_type"},
		{"no grant_type", tokenRequest(t, edge, "scope=agenda.read", id, secret), 400, "invalid_request"},
		{"grant_type twice", tokenRequest(t, edge, "grant_type=client_credentials&grant_type=client_credentials", id, secret), 400, "invalid_request"},
	}
	jsonBody := tokenRequest(t, edge, `{"grant_type":"client_credentials"}`, id, secret)
	jsonBody.Header.Set("Content-Type", "application/json")
	tests = append(tests, struct {
		name   string
		req    *http.Request
		status int
		error  string
	}{"a JSON body", jsonBody, 400, "invalid_request"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, tt.req)
			if a.status != tt.status || a.body["error"] != tt.error || a.body["error_description"] == "" || a.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%d %v (%v), want %d %s", a.status, a.body, a.header, tt.status, tt.error)
			}
			if _, has := a.body["access_token"]; has {
				t.Error("an error carries a token")
			}
			if got := a.header.Get("WWW-Authenticate"); (tt.status == 401) != strings.HasPrefix(got, "Basic ") {
				t.Errorf("WWW-Authenticate %q with status %d", got, a.status)
			}
		})
	}
}
