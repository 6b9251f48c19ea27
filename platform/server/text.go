package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"healthcore/platform/errs"
)

// multiLineFields are the request fields holding free text a person writes in
// paragraphs: they may carry line feeds, carriage returns and tabs. Every other string
// field is single-line. A field missing here refuses newlines, which a test shows at
// once; the same test fails when a name here no longer exists.
var multiLineFields = map[protoreflect.FullName]bool{
	"healthcore.directory.v1.ProfileInput.bio":                        true,
	"healthcore.directory.v1.ReviewAppointmentRequest.comment":        true,
	"healthcore.scheduling.v1.BookAppointmentRequest.reason":          true,
	"healthcore.scheduling.v1.RefuseAppointmentRequest.reason":        true,
	"healthcore.scheduling.v1.CancelAppointmentRequest.justification": true,
}

// nameFields are the field names that hold a name or title: one of only whitespace is
// refused (an empty one is left to the field's own rules, which decide whether it is
// required or means "unchanged").
var nameFields = map[protoreflect.Name]bool{"name": true, "display_name": true, "title": true}

// textViolations walks every set field of m, through nested messages, lists and maps
// (keys included), and names each string holding a control character (C0 or DEL; line
// feed, carriage return and tab only outside multiLineFields), each blank name, and
// each float or double that is NaN or infinite. These rules hold for every request of
// every service, so they live here rather than in each proto.
func textViolations(m protoreflect.Message, prefix string) []errs.Violation {
	var out []errs.Violation
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				out = append(out, valueViolations(fd, l.Get(i), path+"["+strconv.Itoa(i)+"]")...)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := k.String()
				if fd.MapKey().Kind() == protoreflect.StringKind && badRune(key, false) >= 0 {
					key = strings.Trim(strconv.Quote(key), `"`)
				}
				p := path + "[" + key + "]"
				if fd.MapKey().Kind() == protoreflect.StringKind {
					out = append(out, stringViolations(fd.MapKey(), k.String(), p)...)
				}
				out = append(out, valueViolations(fd.MapValue(), mv, p)...)
				return true
			})
		default:
			out = append(out, valueViolations(fd, v, path)...)
		}
		return true
	})
	return out
}

// valueViolations checks one value of fd (a singular field, a list element or a map
// value) named path.
func valueViolations(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) []errs.Violation {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return textViolations(v.Message(), path+".")
	case protoreflect.StringKind:
		return stringViolations(fd, v.String(), path)
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return []errs.Violation{{Field: path, Description: fmt.Sprintf("must be a finite number, not %v", f)}}
		}
	}
	return nil
}

func stringViolations(fd protoreflect.FieldDescriptor, s, path string) []errs.Violation {
	if i := badRune(s, multiLineFields[fd.FullName()]); i >= 0 {
		return []errs.Violation{{Field: path, Description: fmt.Sprintf("must not contain the control character %U (at byte %d)", rune(s[i]), i)}}
	}
	if nameFields[fd.Name()] && !fd.IsMap() && s != "" && strings.TrimSpace(s) == "" {
		return []errs.Violation{{Field: path, Description: "must not be blank"}}
	}
	return nil
}

// badRune returns the index of the first control character of s that is refused
// (C0 or DEL; line feed, carriage return and tab pass in multi-line text), or -1.
func badRune(s string, multiLine bool) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != 0x7f {
			continue
		}
		if multiLine && (c == '\n' || c == '\r' || c == '\t') {
			continue
		}
		return i
	}
	return -1
}
