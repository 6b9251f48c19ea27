package partneredge

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/authn"
)

// Method is an RPC the edge forwards: one whose access rule admits partners.
type Method struct {
	// Procedure is the RPC's HTTP path, /healthcore.directory.v1.DirectoryService/GetDoctor.
	Procedure string
	// Service is the full name of its service, healthcore.directory.v1.DirectoryService.
	Service string
	Desc    protoreflect.MethodDescriptor
	Rule    *accessv1.Rule
}

// Partner reports whether a method's access rule admits partner clients: it names
// partner scopes.
func Partner(md protoreflect.MethodDescriptor) bool {
	return len(authn.RuleOf(md).GetPartner().GetScopes()) > 0
}

// PartnerMethods returns, by procedure, every method of the Healthcore contracts in
// files whose access rule admits partners: the only calls the edge forwards. The list
// comes from the rules, so a partner RPC added to a contract is forwarded without a
// change here.
func PartnerMethods(files *protoregistry.Files) map[string]Method {
	out := map[string]Method{}
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(fd.Path(), "healthcore/") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				if !Partner(md) {
					continue
				}
				proc := "/" + string(sd.FullName()) + "/" + string(md.Name())
				out[proc] = Method{Procedure: proc, Service: string(sd.FullName()), Desc: md, Rule: authn.RuleOf(md)}
			}
		}
		return true
	})
	return out
}

// partnerFiles returns files as partners may see them: every service keeps only its
// partner methods, and a service left with none is dropped, so server reflection
// describes nothing else. Messages stay: they are types, not calls. Each file is
// rebuilt on the rebuilt files it imports, so a file reached through an import is
// filtered too.
func partnerFiles(files *protoregistry.Files) (*protoregistry.Files, []string, error) {
	out := new(protoregistry.Files)
	var services []string
	var add func(fd protoreflect.FileDescriptor) error
	add = func(fd protoreflect.FileDescriptor) error {
		if _, err := out.FindFileByPath(fd.Path()); err == nil {
			return nil
		}
		for i := range fd.Imports().Len() {
			if err := add(fd.Imports().Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		fdp := protodesc.ToFileDescriptorProto(fd)
		var kept []*descriptorpb.ServiceDescriptorProto
		for i, sdp := range fdp.Service {
			sd := fd.Services().Get(i)
			sdp.Method = slices.DeleteFunc(sdp.Method, func(m *descriptorpb.MethodDescriptorProto) bool {
				return !Partner(sd.Methods().ByName(protoreflect.Name(m.GetName())))
			})
			if len(sdp.Method) > 0 {
				kept = append(kept, sdp)
				services = append(services, string(sd.FullName()))
			}
		}
		fdp.Service = kept
		f, err := protodesc.NewFile(fdp, out)
		if err == nil {
			err = out.RegisterFile(f)
		}
		if err != nil {
			return fmt.Errorf("partner edge: describe %s: %w", fd.Path(), err)
		}
		return nil
	}
	var err error
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		err = add(fd)
		return err == nil
	})
	slices.Sort(services)
	return out, services, err
}
