package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoregistry"

	"healthcore/partneredge"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

func TestCollect_TakesEveryPartnerMethodAndTheFilesItNeeds(t *testing.T) {
	rpcs := testkit.RPCs()
	m, err := collect(partneredge.PartnerMethods(protoregistry.GlobalFiles))
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, md := range rpcs {
		in := slices.ContainsFunc(m.methods, func(pm partneredge.Method) bool { return pm.Desc == md })
		partner := authn.RuleOf(md).GetPartner() != nil
		if partner {
			want++
		}
		if in != partner {
			t.Errorf("%s: in the module's table %v, admits partners %v", md.FullName(), in, partner)
		}
		if partner && !slices.Contains(m.files, md.ParentFile().Path()) {
			t.Errorf("%s: its file %s is not published", md.FullName(), md.ParentFile().Path())
		}
	}
	if want == 0 || len(m.methods) != want {
		t.Errorf("%d methods in the table, want the %d that admit partners", len(m.methods), want)
	}
	// The closure: every import of a published file is published (or built in).
	published := append(slices.Clone(m.files), m.thirdParty...)
	for _, pm := range m.methods {
		imports := pm.Desc.ParentFile().Imports()
		for i := range imports.Len() {
			p := imports.Get(i).Path()
			if !strings.HasPrefix(p, "google/protobuf/") && !slices.Contains(published, p) {
				t.Errorf("%s imports %s, which is not published", pm.Desc.ParentFile().Path(), p)
			}
		}
	}
	// Services no partner method lives in, nor any file imports, stay out.
	for _, p := range []string{"healthcore/records/v1/records.proto", "healthcore/identity/v1/identity.proto", "healthcore/keys/v1/keys.proto"} {
		if slices.Contains(m.files, p) {
			t.Errorf("%s is published, but no partner method needs it", p)
		}
	}
	for _, p := range m.thirdParty {
		if strings.HasPrefix(p, "healthcore/") || strings.HasPrefix(p, "google/protobuf/") {
			t.Errorf("third-party list holds %s", p)
		}
	}
}

func TestWrite_CopiesTheFilesUnchangedWithTheWorkspace(t *testing.T) {
	m, err := collect(partneredge.PartnerMethods(protoregistry.GlobalFiles))
	if err != nil {
		t.Fatal(err)
	}
	// Third-party sources come from make protos; stand-ins are enough to check the copy.
	third := t.TempDir()
	for _, p := range m.thirdParty {
		dst := filepath.Join(third, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte("// "+p+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "partner")
	if err := m.write(out, "../../proto", third); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.files {
		got, err := os.ReadFile(filepath.Join(out, "proto", p))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("../../proto", p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the platform's", p)
		}
	}
	for _, p := range m.thirdParty {
		if got, _ := os.ReadFile(filepath.Join(out, "third_party", p)); string(got) != "// "+p+"\n" {
			t.Errorf("third_party/%s = %q", p, got)
		}
	}
	table, err := os.ReadFile(filepath.Join(out, "PARTNER_RPCS.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(table, []byte("| `healthcore.scheduling.v1.SchedulingService/SetDoctorAvailability` | `agenda.write` |")) {
		t.Errorf("PARTNER_RPCS.md lacks SetDoctorAvailability's row:\n%s", table)
	}
	for _, f := range []string{"buf.yaml", "buf.gen.yaml"} {
		if b, err := os.ReadFile(filepath.Join(out, f)); err != nil || !bytes.Contains(b, []byte("\nversion: v2\n")) {
			t.Errorf("%s: %v %q", f, err, b)
		}
	}
}
