package server

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// normalizeMasks rewrites the paths of msg's top-level field masks to proto names, so
// that a mask may name fields by their JSON names too ("groupId" as well as
// "group_id", AIP-161) and every handler sees, and every error names, proto names.
// Paths are relative to msg; a segment naming no field is left for the handler to
// refuse.
func normalizeMasks(msg any) {
	pm, ok := msg.(proto.Message)
	if !ok {
		return
	}
	m := pm.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Message() == nil || fd.Message().FullName() != "google.protobuf.FieldMask" || fd.IsList() || fd.IsMap() || !m.Has(fd) {
			continue
		}
		mask, ok := m.Get(fd).Message().Interface().(*fieldmaskpb.FieldMask)
		if !ok {
			continue
		}
		for j, p := range mask.GetPaths() {
			mask.Paths[j] = protoPath(m.Descriptor(), p)
		}
	}
}

// protoPath writes path, relative to md, with proto field names.
func protoPath(md protoreflect.MessageDescriptor, path string) string {
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		if md == nil {
			break
		}
		fd := md.Fields().ByName(protoreflect.Name(seg))
		if fd == nil {
			fd = md.Fields().ByJSONName(seg)
		}
		if fd == nil {
			break
		}
		segs[i] = string(fd.Name())
		md = nil
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() {
			md = fd.Message()
		}
	}
	return strings.Join(segs, ".")
}
