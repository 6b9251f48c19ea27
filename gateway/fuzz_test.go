package gateway_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"healthcore/gateway"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// validatingUpstream is a gRPC server answering every method of every service the way
// the services' own stack does before their handlers run: it decodes the request and
// runs the platform's validation (server.Validate) on it, answering its error, or an
// empty response when the request is valid. The edge in front of it is the real one.
func validatingUpstream(t testing.TB) string {
	t.Helper()
	s := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		full, _ := grpc.MethodFromServerStream(stream) // "/pkg.Service/Method"
		svc, method, _ := strings.Cut(strings.TrimPrefix(full, "/"), "/")
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			return status.Error(codes.Unimplemented, full)
		}
		md := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(method))
		if md == nil {
			return status.Error(codes.Unimplemented, full)
		}
		in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
		if err != nil {
			return err
		}
		out, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
		if err != nil {
			return err
		}
		req := in.New().Interface()
		if err := stream.RecvMsg(req); err != nil {
			return err
		}
		if err := server.Validate(req); err != nil {
			ce, _ := errs.ToConnect(err)
			return status.Error(codes.Code(ce.Code()), ce.Message())
		}
		return stream.SendMsg(out.New().Interface())
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// FuzzRESTRequestDecoding sends arbitrary query strings and JSON bodies to every
// REST route of the real edge: each answer is a 2xx, or a 4xx with a JSON error body;
// never a 5xx or a panic. Bad input (a malformed body, an unknown parameter, a
// control character, NaN, a partial point) is a 400 with code INVALID_ARGUMENT.
func FuzzRESTRequestDecoding(f *testing.F) {
	for _, seed := range []struct {
		route       uint8
		query, body string
	}{
		{0, "", `{}`},
		{1, "specialty=cardiologia&point.latitude=NaN&point.longitude=-46.6", ``},
		{2, "specilty=cardiologia", `{"name":"Ana\u0000"}`},
		{3, "point.latitude=-23.5", `{"point":{"latitude":"Infinity"}}`},
		{4, "pageSize=5&page_token=%00", `{"updateMask":"group_id,title","title":" "}`},
		{5, "a[b]=c&point=1", `{"name":`},
		{6, "", `[1,2]`},
		{7, "", `{"profile":{"location":{"point":{"latitude":1}}}}`},
		{8, "startTime=2026-13-01T00:00:00Z", `"x"`},
		{9, "", `{"email":"a@b.c","password":"\u007f"}`},
	} {
		f.Add(seed.route, seed.query, []byte(seed.body))
	}
	ups := restUpstreams(validatingUpstream(f))
	g, err := gateway.New(context.Background(), gateway.Options{Upstreams: ups, AllowedOrigins: []string{origin}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(g.Close)
	h := g.Handler()
	routes := restRoutes(f, ups)

	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		rt := routes[int(route)%len(routes)]
		req, err := http.NewRequest(rt[0], "http://edge.test"+rt[1], strings.NewReader(string(body)))
		if err != nil {
			t.Skip()
		}
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer x") // the upstream checks no token
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s %q: status %d: %s", rt[0], rt[1], query, body, rec.Code, rec.Body)
		}
		if rec.Code < 400 {
			return
		}
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Message == "" {
			t.Fatalf("%s %s?%s %q: status %d with a body that is no error JSON (%v): %s", rt[0], rt[1], query, body, rec.Code, err, rec.Body)
		}
		if rec.Code == http.StatusBadRequest && e.Code != int(codes.InvalidArgument) {
			t.Fatalf("%s %s?%s %q: 400 with code %d, want INVALID_ARGUMENT: %s", rt[0], rt[1], query, body, e.Code, rec.Body)
		}
	})
}
