package server

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Every service's types, registered for the walk over all request messages.
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
	"healthcore/platform/errs"
)

// leaf is one string or floating-point field reachable from a request message: the
// path of fields leading to it (each repeated or map field along it gets one element,
// at index 0 or key "k"); key means the leaf is the string key of the last (map) field.
type leaf struct {
	path []protoreflect.FieldDescriptor
	key  bool
}

// requestMessages lists the input message of every RPC of every healthcore service.
func requestMessages(t *testing.T) []protoreflect.MessageDescriptor {
	t.Helper()
	seen := map[protoreflect.FullName]bool{}
	var out []protoreflect.MessageDescriptor
	services := 0
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "healthcore.") {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			services++
			ms := fd.Services().Get(i).Methods()
			for j := 0; j < ms.Len(); j++ {
				in := ms.Get(j).Input()
				if !seen[in.FullName()] {
					seen[in.FullName()] = true
					out = append(out, in)
				}
			}
		}
		return true
	})
	if services < 10 || len(out) < 60 {
		t.Fatalf("found %d services and %d request messages; the walk is broken", services, len(out))
	}
	return out
}

// leaves lists every field of one of kinds in md, through nested messages (each
// message type once along a path, so recursive types end), map keys included.
func leaves(md protoreflect.MessageDescriptor, kinds []protoreflect.Kind, prefix []protoreflect.FieldDescriptor, onPath map[protoreflect.FullName]bool) []leaf {
	if onPath[md.FullName()] {
		return nil
	}
	onPath[md.FullName()] = true
	defer delete(onPath, md.FullName())
	var out []leaf
	for i := 0; i < md.Fields().Len(); i++ {
		fd := md.Fields().Get(i)
		path := append(slices.Clone(prefix), fd)
		vd := fd
		if fd.IsMap() {
			if slices.Contains(kinds, fd.MapKey().Kind()) {
				out = append(out, leaf{path: path, key: true})
			}
			vd = fd.MapValue()
		}
		switch {
		case vd.Kind() == protoreflect.MessageKind:
			out = append(out, leaves(vd.Message(), kinds, path, onPath)...)
		case slices.Contains(kinds, vd.Kind()):
			out = append(out, leaf{path: path})
		}
	}
	return out
}

// set builds a message of type md with the leaf set to v, every message along the
// path created, and returns it with the leaf's path as Validate names it ("crm.uf",
// "languages[0]", "encryption_context[k]").
func set(t *testing.T, md protoreflect.MessageDescriptor, l leaf, v protoreflect.Value) (proto.Message, string) {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
	if err != nil {
		t.Fatal(err)
	}
	root := mt.New()
	m := root
	var name []string
	for i, fd := range l.path {
		last := i == len(l.path)-1
		switch {
		case fd.IsMap() && last && l.key:
			mv := m.Mutable(fd).Map()
			mv.Set(v.MapKey(), mv.NewValue())
			name = append(name, fmt.Sprintf("%s[%s]", fd.Name(), strings.Trim(fmt.Sprintf("%q", v.String()), `"`)))
		case fd.IsMap():
			mv := m.Mutable(fd).Map()
			k := protoreflect.ValueOfString("k").MapKey()
			if last {
				mv.Set(k, v)
			} else {
				nv := mv.NewValue()
				mv.Set(k, nv)
				m = nv.Message()
			}
			name = append(name, string(fd.Name())+"[k]")
		case fd.IsList():
			lv := m.Mutable(fd).List()
			if last {
				lv.Append(v)
			} else {
				nv := lv.NewElement()
				lv.Append(nv)
				m = nv.Message()
			}
			name = append(name, string(fd.Name())+"[0]")
		case last:
			m.Set(fd, v)
			name = append(name, string(fd.Name()))
		default:
			m = m.Mutable(fd).Message()
			name = append(name, string(fd.Name()))
		}
	}
	return root.Interface(), strings.Join(name, ".")
}

// violation returns the description Validate gives field in msg, or "".
func violation(t *testing.T, msg proto.Message, field string) string {
	t.Helper()
	var e *errs.Error
	if !errors.As(Validate(msg), &e) {
		return ""
	}
	if e.Code != connect.CodeInvalidArgument || e.Reason != ReasonValidationFailed {
		t.Errorf("%s: code %v reason %v, want invalid_argument VALIDATION_FAILED", msg.ProtoReflect().Descriptor().FullName(), e.Code, e.Reason)
	}
	for _, v := range e.Violations {
		if v.Field == field {
			return v.Description
		}
	}
	return ""
}

func TestValidate_RefusesControlCharactersInEveryStringFieldOfEveryRequest(t *testing.T) {
	checked, multiLine := 0, 0
	for _, md := range requestMessages(t) {
		for _, l := range leaves(md, []protoreflect.Kind{protoreflect.StringKind}, nil, map[protoreflect.FullName]bool{}) {
			for _, bad := range []string{"a\x00b", "a\x1bb", "a\x7fb", "a\x01"} {
				msg, field := set(t, md, l, protoreflect.ValueOfString(bad))
				if d := violation(t, msg, field); !strings.Contains(d, "control character") {
					t.Errorf("%s.%s = %q: violation %q, want a control character refused", md.FullName(), field, bad, d)
				}
			}
			checked++
			fd := l.path[len(l.path)-1]
			msg, field := set(t, md, l, protoreflect.ValueOfString("line one\nline two\r\n\tend"))
			d := violation(t, msg, field)
			switch {
			case multiLineFields[fd.FullName()] && !l.key:
				multiLine++
				if strings.Contains(d, "control character") {
					t.Errorf("%s.%s is multi-line text but a newline and a tab are refused: %q", md.FullName(), field, d)
				}
			case !strings.Contains(d, "control character"):
				t.Errorf("%s.%s is single-line but a newline passes (violation %q)", md.FullName(), field, d)
			}
		}
	}
	if checked < 120 {
		t.Errorf("checked %d string fields; the walk is broken", checked)
	}
	if multiLine != len(multiLineFields) {
		t.Errorf("found %d of the %d multi-line fields in request messages; is one renamed?", multiLine, len(multiLineFields))
	}
}

func TestValidate_RefusesNonFiniteNumbersInEveryFloatFieldOfEveryRequest(t *testing.T) {
	checked := 0
	for _, md := range requestMessages(t) {
		for _, l := range leaves(md, []protoreflect.Kind{protoreflect.DoubleKind, protoreflect.FloatKind}, nil, map[protoreflect.FullName]bool{}) {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				v := protoreflect.ValueOfFloat64(bad)
				if l.path[len(l.path)-1].Kind() == protoreflect.FloatKind {
					v = protoreflect.ValueOfFloat32(float32(bad))
				}
				msg, field := set(t, md, l, v)
				if d := violation(t, msg, field); !strings.Contains(d, "finite") {
					t.Errorf("%s.%s = %v: violation %q, want a non-finite number refused", md.FullName(), field, bad, d)
				}
			}
			checked++
		}
	}
	if checked < 4 {
		t.Errorf("checked %d floating-point fields; the walk is broken", checked)
	}
}

func TestValidate_RefusesBlankNames(t *testing.T) {
	checked := 0
	for _, md := range requestMessages(t) {
		for _, l := range leaves(md, []protoreflect.Kind{protoreflect.StringKind}, nil, map[protoreflect.FullName]bool{}) {
			fd := l.path[len(l.path)-1]
			if l.key || !nameFields[fd.Name()] {
				continue
			}
			checked++
			for _, blank := range []string{" ", "   ", "\u00a0\u2003"} {
				msg, field := set(t, md, l, protoreflect.ValueOfString(blank))
				if d := violation(t, msg, field); !strings.Contains(d, "blank") {
					t.Errorf("%s.%s = %q: violation %q, want a blank name refused", md.FullName(), field, blank, d)
				}
			}
			msg, field := set(t, md, l, protoreflect.ValueOfString(" Maria da Silva "))
			if d := violation(t, msg, field); strings.Contains(d, "blank") || strings.Contains(d, "control character") {
				t.Errorf("%s.%s: a real name is refused: %q", md.FullName(), field, d)
			}
		}
	}
	if checked < 5 {
		t.Errorf("checked %d name fields; the walk is broken", checked)
	}
}
