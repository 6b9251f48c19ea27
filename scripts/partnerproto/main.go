// Command partnerproto writes the proto module a partner clinic compiles against: the
// contracts of every service with a method partners may call (its access rule names
// partner scopes), with everything they import, laid out as a buf v2 workspace that
// `buf build` and `buf generate` take as it is, offline:
//
//	<out>/buf.yaml          the workspace: module proto (buf.build/healthcore/partner)
//	                        and module third_party (the imported googleapis and
//	                        protoc-gen-validate files, as the platform compiles them)
//	<out>/buf.gen.yaml      a starting template: Go messages and gRPC clients under the
//	                        partner's own import path (managed mode)
//	<out>/PARTNER_RPCS.md   the methods a partner may call, with the scopes of each
//	<out>/proto/…           healthcore/<service>/v1/*.proto, unchanged
//	<out>/third_party/…     google/api/*.proto, validate/validate.proto, unchanged
//
// Whole files are published (a service's internal methods too: the partner edge refuses
// them, whatever a client compiled), so the field numbers and packages are exactly the
// platform's. Run from the repository's root after `make protos`:
//
//	go run ./scripts/partnerproto -out build/partner-proto
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"google.golang.org/protobuf/reflect/protoregistry"

	_ "healthcore/internal/catalog" // links every service's generated package
	"healthcore/partneredge"
)

func main() {
	out := flag.String("out", "build/partner-proto", "folder to write the module into (replaced)")
	flag.Parse()
	m, err := collect(partneredge.PartnerMethods(protoregistry.GlobalFiles))
	if err != nil {
		log.Fatal(err)
	}
	if err := m.write(*out, "proto", "third_party/proto"); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d partner methods in %d services; %d files (%d third-party)\n",
		*out, len(m.methods), len(m.services), len(m.files), len(m.thirdParty))
}

// module is what the partner module holds.
type module struct {
	methods    []partneredge.Method // the partner-callable methods, by procedure
	services   []string             // their services' full names
	files      []string             // healthcore files, by path
	thirdParty []string             // imported files of other origin but protobuf's own
}

// collect takes the partner-callable methods (what the partner edge forwards) and
// finds the closure of the files that declare them and their imports. google/protobuf
// files are left out: every compiler has them built in.
func collect(methods map[string]partneredge.Method) (*module, error) {
	m := &module{}
	seen := map[string]bool{}
	var visit func(fd protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		p := fd.Path()
		if seen[p] || strings.HasPrefix(p, "google/protobuf/") {
			return
		}
		seen[p] = true
		if strings.HasPrefix(p, "healthcore/") {
			m.files = append(m.files, p)
		} else {
			m.thirdParty = append(m.thirdParty, p)
		}
		for i := range fd.Imports().Len() {
			visit(fd.Imports().Get(i).FileDescriptor)
		}
	}
	for _, pm := range methods {
		m.methods = append(m.methods, pm)
		if !slices.Contains(m.services, pm.Service) {
			m.services = append(m.services, pm.Service)
		}
		visit(pm.Desc.ParentFile())
	}
	if len(m.methods) == 0 {
		return nil, fmt.Errorf("no method admits partners: are the generated packages linked in?")
	}
	slices.SortFunc(m.methods, func(a, b partneredge.Method) int { return strings.Compare(a.Procedure, b.Procedure) })
	slices.Sort(m.services)
	slices.Sort(m.files)
	slices.Sort(m.thirdParty)
	return m, nil
}

// write replaces out with the module, copying the healthcore files from protoRoot and
// the others from thirdPartyRoot.
func (m *module) write(out, protoRoot, thirdPartyRoot string) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	copyAll := func(paths []string, from, to string) error {
		for _, p := range paths {
			src, err := os.ReadFile(filepath.Join(from, filepath.FromSlash(p)))
			if err != nil {
				return fmt.Errorf("%w (run make protos for the third-party files)", err)
			}
			dst := filepath.Join(out, to, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, src, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	if err := copyAll(m.files, protoRoot, "proto"); err != nil {
		return err
	}
	if err := copyAll(m.thirdParty, thirdPartyRoot, "third_party"); err != nil {
		return err
	}
	for name, text := range map[string]string{"buf.yaml": bufYAML, "buf.gen.yaml": bufGenYAML, "PARTNER_RPCS.md": m.methodTable()} {
		if err := os.WriteFile(filepath.Join(out, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// methodTable lists the partner-callable methods with their scopes, in markdown.
func (m *module) methodTable() string {
	var b strings.Builder
	b.WriteString("# Methods a partner client may call\n\n")
	b.WriteString("Through the partner edge, with an access token holding one of the scopes. Every other\n")
	b.WriteString("method of these services is refused at the edge.\n\n")
	b.WriteString("| method | scopes (any one) |\n|---|---|\n")
	for _, pm := range m.methods {
		fmt.Fprintf(&b, "| `%s` | `%s` |\n", strings.TrimPrefix(pm.Procedure, "/"), strings.Join(pm.Rule.GetPartner().GetScopes(), "`, `"))
	}
	return b.String()
}

const bufYAML = `# The Healthcore partner contracts: buf build / buf generate take this folder as it is.
version: v2
modules:
  - path: proto
    name: buf.build/healthcore/partner
  - path: third_party
lint:
  use:
    - STANDARD
  ignore:
    - third_party
`

const bufGenYAML = `# A starting template for a Go client: messages and gRPC stubs under your own import
# path. Install the plugins first:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@latest
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@latest
# then: buf generate
version: v2
managed:
  enabled: true
  override:
    - file_option: go_package_prefix
      value: example.com/clinic/gen
  disable:
    # the imported googleapis and protoc-gen-validate files keep their own Go packages
    - path: google
    - path: validate
inputs:
  - directory: proto
plugins:
  - local: protoc-gen-go
    out: gen
    opt: paths=source_relative
  - local: protoc-gen-go-grpc
    out: gen
    opt: paths=source_relative
`
