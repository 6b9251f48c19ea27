package iam

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// root is the repository, seen from this package's folder.
const root = "../../.."

// placeholders are the ${Name}s the documents may carry; doc.go and the README name them.
var placeholders = []string{
	"AccountId", "BucketName", "BucketPrefix", "KmsKeyArn", "Namespace", "OidcProvider", "Region",
	"ServiceName", "SesConfigurationSet", "SesFromAddress", "SesIdentity", "SseKmsKeyArn",
}

// Resources, as the policies must name them.
const (
	keyResource     = "${KmsKeyArn}"
	sseKeyResource  = "${SseKmsKeyArn}"
	objectResource  = "arn:aws:s3:::${BucketName}/${BucketPrefix}*"
	bucketResource  = "arn:aws:s3:::${BucketName}"
	meetingResource = "arn:aws:chime:${Region}:${AccountId}:meeting/*"
	sesIdentity     = "arn:aws:ses:${Region}:${AccountId}:identity/${SesIdentity}"
	sesConfigSet    = "arn:aws:ses:${Region}:${AccountId}:configuration-set/${SesConfigurationSet}"
)

// grant is one IAM action on one resource.
type grant struct{ action, resource string }

// s3Grants maps each S3 client method to the IAM permissions it needs
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations.html, each
// operation's "Permissions"). GetObject and HeadObject also need s3:ListBucket on the
// bucket: without it S3 answers a missing key with 403, not the 404 the driver reads
// as ErrNotFound.
var s3Grants = map[string][]grant{
	"GetObject":               {{"s3:GetObject", objectResource}, {"s3:ListBucket", bucketResource}},
	"HeadObject":              {{"s3:GetObject", objectResource}, {"s3:ListBucket", bucketResource}},
	"PutObject":               {{"s3:PutObject", objectResource}},
	"CreateMultipartUpload":   {{"s3:PutObject", objectResource}},
	"UploadPart":              {{"s3:PutObject", objectResource}},
	"CompleteMultipartUpload": {{"s3:PutObject", objectResource}},
	"AbortMultipartUpload":    {{"s3:AbortMultipartUpload", objectResource}},
	"CopyObject":              {{"s3:GetObject", objectResource}, {"s3:PutObject", objectResource}},
	"DeleteObject":            {{"s3:DeleteObject", objectResource}},
}

// s3SSEGrants are the KMS permissions an S3 method needs on the bucket's key when
// objects are written with SSE-KMS: writing makes a data key, reading (and completing
// a multipart upload, and copying) decrypts one.
var s3SSEGrants = map[string][]grant{
	"GetObject":               {{"kms:Decrypt", sseKeyResource}},
	"PutObject":               {{"kms:GenerateDataKey", sseKeyResource}},
	"CreateMultipartUpload":   {{"kms:GenerateDataKey", sseKeyResource}, {"kms:Decrypt", sseKeyResource}},
	"UploadPart":              {{"kms:GenerateDataKey", sseKeyResource}},
	"CompleteMultipartUpload": {{"kms:Decrypt", sseKeyResource}},
	"CopyObject":              {{"kms:Decrypt", sseKeyResource}, {"kms:GenerateDataKey", sseKeyResource}},
}

// kmsGrants maps each KMS client method to its IAM permission.
var kmsGrants = map[string][]grant{
	"GenerateDataKey": {{"kms:GenerateDataKey", keyResource}},
	"Encrypt":         {{"kms:Encrypt", keyResource}},
	"Decrypt":         {{"kms:Decrypt", keyResource}},
}

// chimeOps are the Chime SDK Meetings REST operations the meetings driver may call,
// by the route the API reference gives ({} a path parameter), each with its action.
var chimeOps = map[string]struct{ method, path string }{
	"CreateMeeting":  {"POST", "/meetings"},
	"CreateAttendee": {"POST", "/meetings/{}/attendees"},
	"GetMeeting":     {"GET", "/meetings/{}"},
	"DeleteMeeting":  {"DELETE", "/meetings/{}"},
}

// sesGrants maps each SES v2 client method to its IAM permission: SendEmail is
// authorized on the sending identity and on the configuration set the message names
// (the Service Authorization Reference's "Amazon Simple Email Service v2" table; the
// driver always names one, -notifications.ses-configuration-set being required).
var sesGrants = map[string][]grant{
	"SendEmail": {{"ses:SendEmail", sesIdentity}, {"ses:SendEmail", sesConfigSet}},
}

// sdkAdapters names, for each AWS SDK service package production code may import, the
// one package allowed to import it and the policy of its permissions.
var sdkAdapters = map[string]struct{ dir, policy string }{
	"kms":   {"services/keys", "keys.json"},
	"s3":    {"services/blobs", "blobs.json"},
	"sesv2": {"services/notifications", "notifications.json"},
}

// list is an IAM field that holds one string or a list of them.
type list []string

func (l *list) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = list{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}

type statement struct {
	Sid       string
	Effect    string
	Principal map[string]string
	Action    list
	Resource  list
	Condition map[string]map[string]list
}

type policy struct {
	Version   string
	Statement []statement
}

// load decodes a policy document strictly (unknown fields fail) and checks what every
// document here must satisfy.
func load(t *testing.T, name string) policy {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p policy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if dec.More() {
		t.Fatalf("%s: data after the document", name)
	}
	if p.Version != "2012-10-17" {
		t.Errorf("%s: Version %q, want 2012-10-17", name, p.Version)
	}
	if len(p.Statement) == 0 {
		t.Errorf("%s: no statements", name)
	}
	sids := map[string]bool{}
	for _, s := range p.Statement {
		if s.Sid == "" || sids[s.Sid] {
			t.Errorf("%s: statement Sid %q missing or repeated", name, s.Sid)
		}
		sids[s.Sid] = true
		if s.Effect != "Allow" {
			t.Errorf("%s: %s: Effect %q, want Allow", name, s.Sid, s.Effect)
		}
		if len(s.Action) == 0 {
			t.Errorf("%s: %s: no actions", name, s.Sid)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") || !regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9]+$`).MatchString(a) {
				t.Errorf("%s: %s: action %q is a wildcard or malformed", name, s.Sid, a)
			}
		}
	}
	for _, m := range regexp.MustCompile(`\$\{([^}]*)\}`).FindAllStringSubmatch(string(raw), -1) {
		if !slices.Contains(placeholders, m[1]) {
			t.Errorf("%s: placeholder ${%s} is not one of the documented %v", name, m[1], placeholders)
		}
	}
	return p
}

// grants lists what a permission policy allows, checking that no resource is a
// wildcard: "*" may only end the last segment of an ARN.
func grants(t *testing.T, name string, p policy) map[grant]bool {
	t.Helper()
	out := map[grant]bool{}
	for _, s := range p.Statement {
		if s.Principal != nil {
			t.Errorf("%s: %s: a permission policy names no principal", name, s.Sid)
		}
		if len(s.Resource) == 0 {
			t.Errorf("%s: %s: no resources", name, s.Sid)
		}
		for _, r := range s.Resource {
			if i := strings.Index(r, "*"); i >= 0 && (i != len(r)-1 || !strings.HasPrefix(r, "arn:aws:") || strings.LastIndex(r, "/") > i || !strings.Contains(r, "/")) {
				t.Errorf("%s: %s: resource %q is a wildcard", name, s.Sid, r)
			}
			for _, a := range s.Action {
				out[grant{a, r}] = true
			}
		}
	}
	return out
}

// compare fails on every grant the code needs that the policy lacks, and every grant
// the policy has that the code does not need.
func compare(t *testing.T, name string, need, have map[grant]bool) {
	t.Helper()
	for _, g := range sortedGrants(need) {
		if !have[g] {
			t.Errorf("%s lacks %s on %s, which the code needs", name, g.action, g.resource)
		}
	}
	for _, g := range sortedGrants(have) {
		if !need[g] {
			t.Errorf("%s allows %s on %s, which the code never needs", name, g.action, g.resource)
		}
	}
}

func sortedGrants(m map[grant]bool) []grant {
	return slices.SortedFunc(maps.Keys(m), func(a, b grant) int {
		return strings.Compare(a.action+" "+a.resource, b.action+" "+b.resource)
	})
}

// sourceFile is one parsed production (non-test) Go file.
type sourceFile struct {
	path string
	fset *token.FileSet
	file *ast.File
}

// productionFiles parses the non-test Go files of the repository's main module under
// dir (relative to the root), skipping generated code and nested modules.
func productionFiles(t *testing.T, dir string) []sourceFile {
	t.Helper()
	var out []sourceFile
	base := filepath.Join(root, dir)
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != base && (strings.HasPrefix(name, ".") || name == "testdata" || name == "gen" || name == "node_modules") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != filepath.Clean(root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		out = append(out, sourceFile{path: path, fset: fset, file: f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no Go files under %s", base)
	}
	return out
}

// importName is the name f uses for the package at path, "" if it does not import it.
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return path[strings.LastIndex(path, "/")+1:]
		}
	}
	return ""
}

// sdkCalls returns the methods the package in dir calls on its AWS SDK clients of
// service svc (struct fields of type *<svc>.Client), and whether it asks for SSE-KMS.
// It fails when a client is used any other way than by a direct method call (handed to
// a paginator, presigner or uploader, whose calls this reading would miss), or when
// the package builds anything from the SDK package but NewFromConfig.
func sdkCalls(t *testing.T, dir, svc string) (methods map[string]bool, sse bool) {
	t.Helper()
	path := "github.com/aws/aws-sdk-go-v2/service/" + svc
	files := productionFiles(t, dir)
	fields := map[string]bool{}
	for _, sf := range files {
		name := importName(sf.file, path)
		if name == "" {
			continue
		}
		ast.Inspect(sf.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				if star, ok := n.Type.(*ast.StarExpr); ok {
					if sel, ok := star.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Client" && isIdent(sel.X, name) {
						for _, id := range n.Names {
							fields[id.Name] = true
						}
					}
				}
			case *ast.SelectorExpr:
				if isIdent(n.X, name) && strings.HasPrefix(n.Sel.Name, "New") && n.Sel.Name != "NewFromConfig" {
					t.Errorf("%s: %s.%s: the IAM test reads only direct client calls", sf.fset.Position(n.Pos()), name, n.Sel.Name)
				}
			}
			return true
		})
	}
	if len(fields) == 0 {
		t.Fatalf("%s: no struct field of type *%s.Client", dir, svc)
	}
	methods = map[string]bool{}
	for _, sf := range files {
		called := map[*ast.SelectorExpr]bool{}
		ast.Inspect(sf.file, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if m, ok := call.Fun.(*ast.SelectorExpr); ok {
					if recv, ok := m.X.(*ast.SelectorExpr); ok && fields[recv.Sel.Name] {
						methods[m.Sel.Name] = true
						called[recv] = true
					}
				}
			}
			return true
		})
		ast.Inspect(sf.file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if fields[sel.Sel.Name] && !called[sel] {
					t.Errorf("%s: the %s client is used other than by a direct method call", sf.fset.Position(sel.Pos()), svc)
				}
				if sel.Sel.Name == "SSEKMSKeyId" {
					sse = true
				}
			}
			return true
		})
	}
	if len(methods) == 0 {
		t.Fatalf("%s: no calls on the %s client found", dir, svc)
	}
	return methods, sse
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// need turns called methods into the grants a table gives them, failing on a method
// the table does not know.
func need(t *testing.T, svc string, methods map[string]bool, tables ...map[string][]grant) map[grant]bool {
	t.Helper()
	out := map[grant]bool{}
	for _, m := range slices.Sorted(maps.Keys(methods)) {
		if _, ok := tables[0][m]; !ok {
			t.Errorf("the code calls %s.%s, which this test does not map to IAM actions: add it to the table and the policy", svc, m)
		}
		for _, table := range tables {
			for _, g := range table[m] {
				out[g] = true
			}
		}
	}
	return out
}

func TestPoliciesParseAndNameNoWildcard(t *testing.T) {
	for _, name := range []string{"keys.json", "blobs.json", "meetings.json", "notifications.json"} {
		grants(t, name, load(t, name))
	}
}

func TestEveryAWSClientHasAnAdapterPolicy(t *testing.T) {
	const prefix = "github.com/aws/aws-sdk-go-v2/service/"
	for _, sf := range productionFiles(t, ".") {
		for _, imp := range sf.file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, prefix) {
				continue
			}
			svc, _, _ := strings.Cut(strings.TrimPrefix(p, prefix), "/")
			a, ok := sdkAdapters[svc]
			rel, _ := filepath.Rel(root, filepath.Dir(sf.path))
			if !ok || filepath.ToSlash(rel) != a.dir {
				t.Errorf("%s imports %s: an AWS client outside the adapters this test knows needs its own IAM policy here", sf.path, p)
			}
		}
	}
}

func TestKeysPolicyAllowsExactlyTheKMSCallsUnderTheContextsSent(t *testing.T) {
	methods, _ := sdkCalls(t, sdkAdapters["kms"].dir, "kms")
	p := load(t, "keys.json")
	compare(t, "keys.json", need(t, "kms", methods, kmsGrants), grants(t, "keys.json", p))

	keys, services := encryptionContexts(t)
	if len(p.Statement) != 1 {
		t.Fatalf("keys.json: %d statements, want the one conditioned on the encryption context", len(p.Statement))
	}
	cond := p.Statement[0].Condition
	if got := slices.Sorted(slices.Values(cond["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"])); !slices.Equal(got, keys) {
		t.Errorf("keys.json allows encryption context keys %v, the code sends %v", got, keys)
	}
	if got := slices.Sorted(slices.Values(cond["StringEquals"]["kms:EncryptionContext:service"])); !slices.Equal(got, services) {
		t.Errorf("keys.json allows encryption context services %v, the code sends %v", got, services)
	}
	if len(cond) != 2 || len(cond["ForAllValues:StringEquals"]) != 1 || len(cond["StringEquals"]) != 1 {
		t.Errorf("keys.json: conditions %v, want only the context keys and the service", cond)
	}
}

// encryptionContexts reads the encryption contexts the code sends to the keys service:
// every map[string]string literal with a "service" key. Their keys, and the service's
// value, must be literals.
func encryptionContexts(t *testing.T) (keys, services []string) {
	t.Helper()
	ks, ss := map[string]bool{}, map[string]bool{}
	for _, sf := range productionFiles(t, ".") {
		ast.Inspect(sf.file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			mt, ok := lit.Type.(*ast.MapType)
			if !ok || !isIdent(mt.Key, "string") || !isIdent(mt.Value, "string") {
				return true
			}
			ctx := map[string]ast.Expr{}
			for _, e := range lit.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					return true
				}
				k, ok := stringLit(kv.Key)
				if !ok {
					return true
				}
				ctx[k] = kv.Value
			}
			svc, ok := ctx["service"]
			if !ok {
				return true
			}
			v, ok := stringLit(svc)
			if !ok {
				t.Errorf("%s: the context's service is not a literal", sf.fset.Position(svc.Pos()))
			}
			ss[v] = true
			for k := range ctx {
				ks[k] = true
			}
			return true
		})
	}
	if len(ss) == 0 {
		t.Fatal("no encryption context found in the code")
	}
	return slices.Sorted(maps.Keys(ks)), slices.Sorted(maps.Keys(ss))
}

func stringLit(e ast.Expr) (string, bool) {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}

func TestBlobsPolicyAllowsExactlyTheS3CallsAndTheirSSEKMS(t *testing.T) {
	methods, sse := sdkCalls(t, sdkAdapters["s3"].dir, "s3")
	if !sse {
		t.Fatal("the blobs driver no longer asks for SSE-KMS: drop the KMS statement from blobs.json and this check")
	}
	p := load(t, "blobs.json")
	compare(t, "blobs.json", need(t, "s3", methods, s3Grants, s3SSEGrants), grants(t, "blobs.json", p))
	for _, s := range p.Statement {
		kms := slices.ContainsFunc(s.Action, func(a string) bool { return strings.HasPrefix(a, "kms:") })
		via := s.Condition["StringEquals"]["kms:ViaService"]
		if kms && !slices.Equal(via, list{"s3.${Region}.amazonaws.com"}) {
			t.Errorf("blobs.json: %s: KMS use must be limited to S3 with kms:ViaService, has %v", s.Sid, via)
		}
		if arns := s.Condition["StringLike"]["kms:EncryptionContext:aws:s3:arn"]; kms && !slices.Equal(arns, list{objectResource, bucketResource}) {
			t.Errorf("blobs.json: %s: KMS use must be limited to the bucket's objects, has %v", s.Sid, arns)
		}
		if !kms && s.Condition != nil {
			t.Errorf("blobs.json: %s: unexpected condition %v", s.Sid, s.Condition)
		}
	}
}

func TestMeetingsPolicyAllowsExactlyTheChimeCalls(t *testing.T) {
	methods := map[string]bool{}
	sends := 0
	for _, sf := range productionFiles(t, "services/meetings") {
		if strings.Contains(filepath.ToSlash(sf.path), "/meetingstest/") {
			continue // the fake Chime of the tests
		}
		for _, decl := range sf.file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				m, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pos := sf.fset.Position(call.Pos())
				switch m.Sel.Name {
				case "send":
					sends++
					if fn.Name.Name != "call" {
						t.Errorf("%s: Chime is sent to outside call, which this test reads", pos)
					}
				case "call":
					if len(call.Args) != 6 {
						t.Errorf("%s: call with %d arguments", pos, len(call.Args))
						return true
					}
					op, ok := stringLit(call.Args[1])
					method := httpMethod(call.Args[2])
					route := routeOf(call.Args[3])
					want, known := chimeOps[op]
					switch {
					case !ok:
						t.Errorf("%s: the Chime operation is not a literal", pos)
					case !known:
						t.Errorf("%s: the code calls Chime %s, which this test does not know: add it to chimeOps and the policy", pos, op)
					case want.method != method || want.path != route:
						t.Errorf("%s: Chime %s sent as %s %s, the API's route is %s %s", pos, op, method, route, want.method, want.path)
					default:
						methods[op] = true
					}
				}
				return true
			})
		}
	}
	if sends != 1 || len(methods) == 0 {
		t.Fatalf("found %d send calls and operations %v: the driver's shape changed", sends, methods)
	}
	needed := map[grant]bool{}
	for op := range methods {
		needed[grant{"chime:" + op, meetingResource}] = true
	}
	compare(t, "meetings.json", needed, grants(t, "meetings.json", load(t, "meetings.json")))
}

// httpMethod reads http.MethodX.
func httpMethod(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok && isIdent(sel.X, "http") {
		return strings.ToUpper(strings.TrimPrefix(sel.Sel.Name, "Method"))
	}
	return "?"
}

// routeOf renders a path built by concatenation with {} for every non-literal part.
func routeOf(e ast.Expr) string {
	if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
		return routeOf(b.X) + routeOf(b.Y)
	}
	if s, ok := stringLit(e); ok {
		return s
	}
	return "{}"
}

func TestTrustPolicyAdmitsOnlyTheServiceAccount(t *testing.T) {
	p := load(t, "trust-irsa.json")
	if len(p.Statement) != 1 {
		t.Fatalf("trust-irsa.json: %d statements, want 1", len(p.Statement))
	}
	s := p.Statement[0]
	if got := s.Principal["Federated"]; got != "arn:aws:iam::${AccountId}:oidc-provider/${OidcProvider}" || len(s.Principal) != 1 {
		t.Errorf("trust-irsa.json: principal %v, want the cluster's OIDC provider", s.Principal)
	}
	if !slices.Equal(s.Action, list{"sts:AssumeRoleWithWebIdentity"}) || len(s.Resource) != 0 {
		t.Errorf("trust-irsa.json: action %v resource %v, want sts:AssumeRoleWithWebIdentity alone", s.Action, s.Resource)
	}
	want := map[string]map[string]list{"StringEquals": {
		"${OidcProvider}:aud": {"sts.amazonaws.com"},
		"${OidcProvider}:sub": {"system:serviceaccount:${Namespace}:healthcore-${ServiceName}"},
	}}
	got, _ := json.Marshal(s.Condition)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) {
		t.Errorf("trust-irsa.json: condition %s, want %s", got, wantJSON)
	}
}

func TestReadmeDocumentsThePoliciesAndPlaceholders(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "### AWS permissions")
	if !ok {
		t.Fatal(`README.md has no "### AWS permissions" section`)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	if i := strings.Index(section, "\n### "); i >= 0 {
		section = section[:i]
	}
	for _, p := range placeholders {
		if !strings.Contains(section, "${"+p+"}") {
			t.Errorf("README's AWS permissions section does not explain ${%s}", p)
		}
	}
	for _, f := range []string{"keys.json", "blobs.json", "meetings.json", "notifications.json", "trust-irsa.json"} {
		if !strings.Contains(section, f) {
			t.Errorf("README's AWS permissions section does not name %s", f)
		}
	}
}

// TestNotificationsPolicyAllowsExactlyTheSESCallsFromTheSender: the SES v2 operations
// the notifications driver calls (read from its code) are the policy's actions, on the
// identity and the configuration set, and only from the configured sender.
func TestNotificationsPolicyAllowsExactlyTheSESCallsFromTheSender(t *testing.T) {
	methods, _ := sdkCalls(t, sdkAdapters["sesv2"].dir, "sesv2")
	p := load(t, "notifications.json")
	compare(t, "notifications.json", need(t, "sesv2", methods, sesGrants), grants(t, "notifications.json", p))
	for _, s := range p.Statement {
		if got := s.Condition["StringEquals"]["ses:FromAddress"]; !slices.Equal(got, list{"${SesFromAddress}"}) || len(s.Condition) != 1 || len(s.Condition["StringEquals"]) != 1 {
			t.Errorf("notifications.json: %s: conditions %v, want only ses:FromAddress = ${SesFromAddress}", s.Sid, s.Condition)
		}
	}
}
