package authn_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	accessv1 "healthcore/gen/healthcore/access/v1"
	// Every generated package with a service, so that its file registers. A new
	// service's package is added here: the test fails until it is.
	_ "healthcore/gen/healthcore/blobs/v1"
	_ "healthcore/gen/healthcore/clinics/v1"
	_ "healthcore/gen/healthcore/directory/v1"
	_ "healthcore/gen/healthcore/identity/v1"
	_ "healthcore/gen/healthcore/keys/v1"
	_ "healthcore/gen/healthcore/meetings/v1"
	_ "healthcore/gen/healthcore/notifications/v1"
	_ "healthcore/gen/healthcore/payments/v1"
	_ "healthcore/gen/healthcore/pix/v1"
	_ "healthcore/gen/healthcore/records/v1"
	_ "healthcore/gen/healthcore/scheduling/v1"
	_ "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

// protoRoot is the contracts folder, relative to this package.
const protoRoot = "../../proto"

var declaresService = regexp.MustCompile(`(?m)^service\s+\w+`)

func TestEveryServiceContractIsLinkedIntoTheRuleCheck(t *testing.T) {
	found := 0
	err := filepath.WalkDir(protoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".proto") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil || !declaresService.Match(src) {
			return err
		}
		found++
		rel, err := filepath.Rel(protoRoot, path)
		if err != nil {
			return err
		}
		if _, err := protoregistry.GlobalFiles.FindFileByPath(filepath.ToSlash(rel)); err != nil {
			t.Errorf("%s declares a service but is not registered: import its gen package in rules_test.go", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatalf("no service found under %s", protoRoot)
	}
}

func TestEveryRPCDeclaresAUsableAccessRule(t *testing.T) {
	rpcs := testkit.RPCs()
	if len(rpcs) == 0 {
		t.Fatal("no healthcore RPC registered")
	}
	for _, md := range rpcs {
		checkRule(t, md.FullName(), authn.RuleOf(md))
	}
}

func TestRuleCheck_RefusesAnInternalRuleWithoutCallers(t *testing.T) {
	rec := &recorder{TB: t}
	checkRule(rec, "healthcore.test.v1.Test/Nobody", &accessv1.Rule{Internal: &accessv1.Internal{}})
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "internal without callers") {
		t.Errorf("errors = %q, want the missing callers named", rec.errors)
	}
}

// recorder is a testing.TB that keeps the errors reported to it instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func checkRule(t testing.TB, method protoreflect.FullName, r *accessv1.Rule) {
	t.Helper()
	switch {
	case r == nil:
		t.Errorf("%s declares no (healthcore.access.v1.rule): every RPC says who may call it", method)
		return
	case !r.GetPublic() && r.GetInternal() == nil && len(r.GetRoles()) == 0 && r.GetPartner() == nil:
		t.Errorf("%s has an empty rule: nobody may call it", method)
	case r.GetPublic() && (r.GetInternal() != nil || len(r.GetRoles()) > 0):
		t.Errorf("%s is public and also names callers: public already admits everyone", method)
	case r.GetInternal() != nil && len(r.GetInternal().GetCallers()) == 0:
		t.Errorf("%s is internal without callers: list the services that call it (internal: {callers: [...]})", method)
	}
	callers := r.GetInternal().GetCallers()
	for i, c := range callers {
		if slices.Contains(callers[:i], c) {
			t.Errorf("%s lists caller %q twice", method, c)
		}
	}
	for _, role := range slices.Concat(r.GetRoles(), r.GetMfaRoles()) {
		switch {
		case role == accessv1.Role_ROLE_PARTNER:
			t.Errorf("%s lists the partner role: partners are admitted by scope (partner: {scopes: [...]})", method)
		case authn.RoleName(role) == "":
			t.Errorf("%s lists role %v, which no access token carries (use internal for services)", method, role)
		}
	}
	if partner := r.GetPartner(); partner != nil {
		scopes := partner.GetScopes()
		switch {
		case len(scopes) == 0:
			t.Errorf("%s admits partners without scopes: list the scopes that allow it (partner: {scopes: [...]})", method)
		case r.GetInternal() != nil && len(r.GetRoles()) == 0 && !r.GetPublic():
			t.Errorf("%s is internal and admits partners: internal methods are never a partner's", method)
		}
		for i, scope := range scopes {
			if !slices.Contains(authn.PartnerScopes, scope) {
				t.Errorf("%s lists partner scope %q, which no client is granted (authn.PartnerScopes: %v)", method, scope, authn.PartnerScopes)
			}
			if slices.Contains(scopes[:i], scope) {
				t.Errorf("%s lists partner scope %q twice", method, scope)
			}
		}
	}
}

func TestRuleCheck_RefusesPartnerRulesOutsideTheFixedScopes(t *testing.T) {
	tests := []struct {
		name string
		rule *accessv1.Rule
		want string
	}{
		{"unknown scope", &accessv1.Rule{Public: true, Partner: &accessv1.Partner{Scopes: []string{"records.read"}}}, "which no client is granted"},
		{"no scopes", &accessv1.Rule{Partner: &accessv1.Partner{}}, "without scopes"},
		{"scope twice", &accessv1.Rule{Partner: &accessv1.Partner{Scopes: []string{"agenda.read", "agenda.read"}}}, "twice"},
		{"internal", &accessv1.Rule{Internal: &accessv1.Internal{Callers: []string{"scheduling"}},
			Partner: &accessv1.Partner{Scopes: []string{"agenda.read"}}}, "internal and admits partners"},
		{"partner role", &accessv1.Rule{Roles: []accessv1.Role{accessv1.Role_ROLE_PARTNER}}, "lists the partner role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			checkRule(rec, "healthcore.test.v1.Test/Partner", tt.rule)
			if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], tt.want) {
				t.Errorf("errors = %q, want one containing %q", rec.errors, tt.want)
			}
		})
	}
}
