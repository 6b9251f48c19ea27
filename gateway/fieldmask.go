package gateway

import (
	"bytes"
	"encoding/json"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// jsonMarshaler's decoder lets a JSON body's field masks name fields by their proto
// names as well as their JSON names (AIP-161: "updateMask": "group_id" as well as
// "groupId"). protojson takes only JSON names in a mask's string form, so a top-level
// mask given with proto names is rewritten to JSON names (jsonMaskNames) before
// decoding; the services see proto names either way (the validation interceptor turns
// JSON names a gRPC client sends into proto names). Requests without a mask decode
// untouched.

// maskFields lists md's google.protobuf.FieldMask fields.
func maskFields(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	var out []protoreflect.FieldDescriptor
	for i := 0; i < md.Fields().Len(); i++ {
		fd := md.Fields().Get(i)
		if fd.Message() != nil && fd.Message().FullName() == "google.protobuf.FieldMask" && !fd.IsList() && !fd.IsMap() {
			out = append(out, fd)
		}
	}
	return out
}

// jsonMaskNames rewrites the proto names ("group_id") in the top-level masks of the
// JSON object b to JSON names ("groupId"). b is returned as it is when it needs no
// change or is not a JSON object (the decoder then says what is wrong with it).
func jsonMaskNames(md protoreflect.MessageDescriptor, b []byte) []byte {
	fields := maskFields(md)
	if len(fields) == 0 || !bytes.Contains(b, []byte("_")) {
		return b
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil {
		return b
	}
	changed := false
	for _, fd := range fields {
		for _, key := range []string{fd.JSONName(), string(fd.Name())} {
			var s string
			if json.Unmarshal(obj[key], &s) != nil || !strings.Contains(s, "_") {
				continue
			}
			paths := strings.Split(s, ",")
			for i, p := range paths {
				segs := strings.Split(p, ".")
				for j, seg := range segs {
					segs[j] = lowerCamel(seg)
				}
				paths[i] = strings.Join(segs, ".")
			}
			obj[key], _ = json.Marshal(strings.Join(paths, ","))
			changed = true
		}
	}
	if !changed {
		return b
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return b
	}
	return out
}

// lowerCamel is protoc's JSON name of a proto field name: "group_id" → "groupId".
func lowerCamel(s string) string {
	var b strings.Builder
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			upper = true
		case upper && 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
			upper = false
		default:
			b.WriteByte(c)
			upper = false
		}
	}
	return b.String()
}
