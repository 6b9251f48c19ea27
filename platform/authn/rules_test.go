package authn_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	accessv1 "healthcore/gen/healthcore/access/v1"
	// Every generated package with a service, so that its file registers. A new
	// service's package is added here: the test fails until it is.
	_ "healthcore/gen/healthcore/blobs/v1"
	_ "healthcore/gen/healthcore/directory/v1"
	_ "healthcore/gen/healthcore/identity/v1"
	_ "healthcore/gen/healthcore/keys/v1"
	_ "healthcore/gen/healthcore/meetings/v1"
	_ "healthcore/gen/healthcore/payments/v1"
	_ "healthcore/gen/healthcore/pix/v1"
	_ "healthcore/gen/healthcore/records/v1"
	_ "healthcore/gen/healthcore/scheduling/v1"
	_ "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/platform/authn"
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
	methods := 0
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(fd.Path(), "healthcore/") {
			return true
		}
		for i := range fd.Services().Len() {
			svc := fd.Services().Get(i)
			for j := range svc.Methods().Len() {
				md := svc.Methods().Get(j)
				methods++
				checkRule(t, md.FullName(), authn.RuleOf(md))
			}
		}
		return true
	})
	if methods == 0 {
		t.Fatal("no healthcore RPC registered")
	}
}

func checkRule(t *testing.T, method protoreflect.FullName, r *accessv1.Rule) {
	t.Helper()
	switch {
	case r == nil:
		t.Errorf("%s declares no (healthcore.access.v1.rule): every RPC says who may call it", method)
		return
	case !r.GetPublic() && !r.GetInternal() && len(r.GetRoles()) == 0:
		t.Errorf("%s has an empty rule: nobody may call it", method)
	case r.GetPublic() && (r.GetInternal() || len(r.GetRoles()) > 0):
		t.Errorf("%s is public and also names callers: public already admits everyone", method)
	}
	for _, role := range r.GetRoles() {
		if authn.RoleName(role) == "" {
			t.Errorf("%s lists role %v, which no access token carries (use internal for services)", method, role)
		}
	}
}
