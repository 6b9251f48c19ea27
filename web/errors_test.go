package web_test

import (
	"os"
	"regexp"
	"testing"

	_ "healthcore/gateway"          // the edge's own reasons
	_ "healthcore/internal/catalog" // every service, so every reason a service declares
	_ "healthcore/partneredge"      // the partner edge's own reasons
	"healthcore/platform/errs"
)

// The app's reason → message table (src/errors.ts) has a pt-BR line for every reason
// the platform declares, and none for a reason that no longer exists.
func TestErrorsTable_CoversEveryDeclaredReason(t *testing.T) {
	src, err := os.ReadFile("src/errors.ts")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  ([A-Z][A-Z0-9_]*): "[^"]+",$`).FindAllStringSubmatch(string(src), -1) {
		table[m[1]] = true
	}
	declared := map[string]bool{}
	for _, r := range errs.Declared() {
		declared[r.Name()] = true
		if !table[r.Name()] {
			t.Errorf("src/errors.ts has no message for %s", r.Name())
		}
	}
	if len(declared) < 100 {
		t.Fatalf("only %d reasons declared: the services' packages are not linked in", len(declared))
	}
	for name := range table {
		if !declared[name] {
			t.Errorf("src/errors.ts has a message for %s, which nothing declares", name)
		}
	}
}
