package gateway

import (
	"net/http"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Route is one method and path template the edge answers, in the templates' form
// ("/v1/appointments/{id}:accept": {x} is one path segment, a trailing :verb is literal).
type Route struct {
	Method string
	Path   string
	// API is true for the API's routes, the ones /openapi.json documents; false for the
	// edge's own (health, readiness, the documents, the API page).
	API bool
}

// Routes lists every route the edge answers: the services' REST routes (from their
// protos' google.api.http rules), the record file routes, the extra routes and the
// edge's own.
func (g *Gateway) Routes() []Route { return slices.Clone(g.routes) }

// serviceRoutes are the google.api.http rules of the named gRPC service.
func serviceRoutes(service string) []Route {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return nil
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil
	}
	var out []Route
	for i := range sd.Methods().Len() {
		rule, _ := proto.GetExtension(sd.Methods().Get(i).Options(), annotations.E_Http).(*annotations.HttpRule)
		out = appendRule(out, rule)
	}
	return out
}

func appendRule(out []Route, rule *annotations.HttpRule) []Route {
	if rule == nil {
		return out
	}
	method, path := HTTPRule(rule)
	if path != "" {
		out = append(out, Route{Method: method, Path: path, API: true})
	}
	for _, b := range rule.GetAdditionalBindings() {
		out = appendRule(out, b)
	}
	return out
}

// muxRoute is the route of a net/http ServeMux pattern ("POST /webhooks/mercadopago");
// ok is false for a pattern that names no method or a host.
func muxRoute(pattern string, api bool) (Route, bool) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		return Route{}, false
	}
	return Route{Method: method, Path: path, API: api}, true
}

// segmentsMatch reports whether a path is an instance of a template, both already split
// by splitVerb: segment by segment, a {variable} or * standing for any one non-empty
// segment and ** (or {x=**}) for the rest; a template's :verb must end the path, and a
// path whose last segment has a :verb matches only a template with that verb (so GET
// /v1/appointments/x:accept is not GET /v1/appointments/{id} with the id "x:accept").
func segmentsMatch(tsegs []string, tverb string, psegs []string, pverb string) bool {
	if tverb != pverb {
		return false
	}
	for i, t := range tsegs {
		if t == "**" || strings.HasSuffix(t, "=**}") {
			return len(psegs) >= i
		}
		if i >= len(psegs) {
			return false
		}
		p := psegs[i]
		switch {
		case t == "*" || strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}"):
			if p == "" {
				return false
			}
		case t != p:
			return false
		}
	}
	return len(psegs) == len(tsegs)
}

// splitVerb splits a path into its segments and the :verb of its last one.
func splitVerb(path string) ([]string, string) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	last := segs[len(segs)-1]
	if i := strings.LastIndexByte(last, ':'); i >= 0 && !strings.HasSuffix(last, "}") {
		segs[len(segs)-1] = last[:i]
		return segs, last[i+1:]
	}
	return segs, ""
}

// splitRoute is a route with its template split by splitVerb, once, at start.
type splitRoute struct {
	method string
	segs   []string
	verb   string
}

func splitRoutes(routes []Route) []splitRoute {
	out := make([]splitRoute, len(routes))
	for i, rt := range routes {
		segs, verb := splitVerb(rt.Path)
		out[i] = splitRoute{rt.Method, segs, verb}
	}
	return out
}

// allowed lists the methods of the routes whose template path matches, sorted. It
// runs on every request (checkRoute): the templates are split once, at start.
func (g *Gateway) allowed(path string) []string {
	psegs, pverb := splitVerb(path)
	var out []string
	for _, rt := range g.split {
		if !slices.Contains(out, rt.method) && segmentsMatch(rt.segs, rt.verb, psegs, pverb) {
			out = append(out, rt.method)
		}
	}
	slices.Sort(out)
	return out
}

// maxHeaderBytes bounds a request's header fields (the request line included) at the
// edge: beyond it the answer is 431 HEADERS_TOO_LARGE. Go's server refuses beyond
// http.Server.MaxHeaderBytes (1 MiB) itself, with a plain-text 431, before any
// handler runs.
const maxHeaderBytes = 64 << 10

// checkRoute answers, before any route runs, a request whose header fields are too
// large (431) and one whose path is a route for other methods only (405 with Allow:
// no body is read). A path no route takes goes on, to be answered 404 by the mux.
func (g *Gateway) checkRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
		for k, vs := range r.Header {
			for _, v := range vs {
				size += len(k) + len(v) + 4
			}
		}
		if size > maxHeaderBytes {
			writeStatus(w, r, http.StatusRequestHeaderFieldsTooLarge, reasonStatus(ReasonHeadersTooLarge,
				"the request's header fields are over the limit of 65536 bytes"))
			return
		}
		allow := g.allowed(r.URL.Path)
		if len(allow) == 0 || slices.Contains(allow, r.Method) ||
			r.Method == http.MethodHead && slices.Contains(allow, http.MethodGet) {
			next.ServeHTTP(w, r)
			return
		}
		methodNotAllowed(w, r, allow)
	})
}
