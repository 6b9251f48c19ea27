package gateway

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// queryRoute is what one REST route takes from its query string.
type queryRoute struct {
	// in is the route's request message; nil when the route takes no query
	// parameters at all (its body is the whole request).
	in protoreflect.MessageDescriptor
	// bound are the fields the path or the body set, which the query cannot.
	bound []protoreflect.Name
}

// queryRoutes reads the google.api.http rules of services and returns each route's
// queryRoute, keyed by method and pattern as runtime.Pattern.String prints it ("GET
// /v1/doctors/{doctor_id=*}/reviews").
func queryRoutes(services []string) (map[string]queryRoute, error) {
	routes := map[string]queryRoute{}
	methods, err := methodsOf(services)
	if err != nil {
		return nil, err
	}
	for _, md := range methods {
		rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
		if rule == nil {
			continue
		}
		for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
			method, template := HTTPRule(r)
			if method == "" {
				continue
			}
			q := queryRoute{in: md.Input()}
			for _, m := range pathVar.FindAllStringSubmatch(template, -1) {
				q.bound = append(q.bound, protoreflect.Name(strings.Split(m[1], ".")[0]))
			}
			switch body := r.GetBody(); body {
			case "*":
				q.in = nil
			case "":
			default:
				q.bound = append(q.bound, protoreflect.Name(body))
			}
			routes[method+" "+pathVar.ReplaceAllStringFunc(template, starVar)] = q
		}
	}
	return routes, nil
}

// pathVar matches a path variable of an http rule's template: "{doctor_id}" or
// "{name=groups/*}".
var pathVar = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// starVar writes a path variable as runtime.Pattern.String does: "{id}" → "{id=*}".
func starVar(v string) string {
	if strings.Contains(v, "=") {
		return v
	}
	return strings.TrimSuffix(v, "}") + "=*}"
}

// HTTPRule is the method and path template of a google.api.http rule (its additional
// bindings aside); empty for a rule with no pattern.
func HTTPRule(r *annotations.HttpRule) (method, template string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

// unknownParams lists the query parameters q does not take, sorted: those naming no
// field of the request (by its proto or JSON name, dotted through singular messages,
// "[key]" after a map), and those naming a field the path or the body sets.
func (q queryRoute) unknownParams(params map[string][]string) []string {
	var out []string
	for key := range params {
		if !q.takes(key) {
			out = append(out, printable(key))
		}
	}
	slices.Sort(out)
	return out
}

func (q queryRoute) takes(key string) bool {
	if q.in == nil {
		return false
	}
	if i := strings.IndexByte(key, '['); i > 0 && strings.HasSuffix(key, "]") {
		key = key[:i]
	}
	md := q.in
	for i, seg := range strings.Split(key, ".") {
		if md == nil {
			return false // a field inside a scalar, a list or a map
		}
		fd := md.Fields().ByTextName(seg)
		if fd == nil {
			fd = md.Fields().ByJSONName(seg)
		}
		if fd == nil || (i == 0 && slices.Contains(q.bound, fd.Name())) {
			return false
		}
		md = nil
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() {
			md = fd.Message()
		}
	}
	return true
}

// checkQuery refuses, with 400 VALIDATION_FAILED naming each, the query parameters a
// route does not take, as protojson refuses unknown fields in a body; left alone,
// "?specilty=cardiologia" would answer as if there were no filter. *mux is set once
// the mux is built.
func checkQuery(routes map[string]queryRoute, mux **runtime.ServeMux) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
			pat, ok := runtime.HTTPPattern(r.Context())
			q, known := routes[r.Method+" "+pat.String()]
			if !ok || !known || r.URL.RawQuery == "" {
				next(w, r, pathParams)
				return
			}
			unknown := q.unknownParams(r.URL.Query())
			if len(unknown) == 0 {
				next(w, r, pathParams)
				return
			}
			_, out := runtime.MarshalerForRequest(*mux, r)
			runtime.HTTPError(r.Context(), *mux, out, w, r, unknownParamsError(unknown))
		}
	}
}

// printable is key as it is when it is valid UTF-8 without control characters, else
// quoted with Go escapes: an error names it, and an error's JSON must be valid UTF-8.
func printable(key string) string {
	if utf8.ValidString(key) && !strings.ContainsFunc(key, unicode.IsControl) {
		return key
	}
	return strconv.Quote(key)
}

// unknownParamsError is the 400 VALIDATION_FAILED naming each unknown parameter.
func unknownParamsError(unknown []string) error {
	msg := "unknown query parameter: " + strings.Join(unknown, ", ")
	br := &errdetails.BadRequest{}
	for _, k := range unknown {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: k, Description: "unknown query parameter: this route takes none by that name",
		})
	}
	s, err := status.New(codes.InvalidArgument, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: server.ReasonValidationFailed.Name(), Domain: errs.Domain}, br)
	if err != nil {
		return status.Error(codes.InvalidArgument, msg)
	}
	return s.Err()
}

// unknownKeys lists the keys of params not among known, sorted and printable, for the
// routes the gateway serves itself (record upload and download).
func unknownKeys(params map[string][]string, known ...string) []string {
	var out []string
	for key := range params {
		if !slices.Contains(known, key) {
			out = append(out, printable(key))
		}
	}
	slices.Sort(out)
	return out
}

// methodsOf returns the methods of the services named (full names), in order.
func methodsOf(services []string) ([]protoreflect.MethodDescriptor, error) {
	var out []protoreflect.MethodDescriptor
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", name, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("%s is not a service", name)
		}
		for i := range sd.Methods().Len() {
			out = append(out, sd.Methods().Get(i))
		}
	}
	return out, nil
}
