package gateway

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
)

// The answers the edge writes most (a search page, a doctor's profile, a week of a
// doctor's free slots) are written here from their wire encoding, as the service sent
// them: the edge's gRPC codec (answerCodec) keeps these answers' bytes instead of
// decoding them, which was 17 % of the edge's CPU on a search (bench/search), and
// message walks the bytes by a plan worked out once from the message's descriptor.
// Its JSON is byte for byte what protojson with answerJSON writes for the decoded
// message (TestAnswerJSON compares both over randomised messages). Anything protojson
// would refuse (a string that is not UTF-8, a timestamp out of range), or an encoding
// this walk does not take (fields out of order, a singular field repeated), makes
// appendAnswer give up, and protojson answers the decoded message instead, with its
// own error if it has one.

// wireAnswers are the answers written here.
var wireAnswers = map[protoreflect.FullName]bool{
	(*directoryv1.SearchDoctorsResponse)(nil).ProtoReflect().Descriptor().FullName():       true,
	(*directoryv1.GetDoctorResponse)(nil).ProtoReflect().Descriptor().FullName():           true,
	(*schedulingv1.ListAvailableSlotsResponse)(nil).ProtoReflect().Descriptor().FullName(): true,
}

// answerCodec is the edge's gRPC codec: it keeps each of wireAnswers as its encoding,
// in the message's unknown fields (the message has no other field set), and decodes
// everything else with the proto codec. Only the edge's marshaler reads those answers
// (appendAnswer, or decodedAnswer before protojson).
type answerCodec struct{ proto encoding.CodecV2 }

// answerCodecOption makes a connection's calls use answerCodec.
func answerCodecOption() grpc.DialOption {
	return grpc.WithDefaultCallOptions(grpc.ForceCodecV2(answerCodec{encoding.GetCodecV2(grpcproto.Name)}))
}

func (c answerCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c answerCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(proto.Message); ok && wireAnswers[m.ProtoReflect().Descriptor().FullName()] {
		proto.Reset(m)
		m.ProtoReflect().SetUnknown(data.Materialize())
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (c answerCodec) Name() string { return c.proto.Name() }

// decodedAnswer is v decoded, when it is an answer answerCodec kept as its encoding.
func decodedAnswer(v proto.Message) (proto.Message, error) {
	m := v.ProtoReflect()
	if !m.IsValid() || !wireAnswers[m.Descriptor().FullName()] || len(m.GetUnknown()) == 0 || populated(m) {
		return v, nil
	}
	out := m.New().Interface()
	if err := proto.Unmarshal(m.GetUnknown(), out); err != nil {
		return nil, fmt.Errorf("gateway: the service's answer %s: %w", m.Descriptor().FullName(), err)
	}
	return out, nil
}

// jsonComma is what protojson puts between two members or elements in this binary:
// "," or ", " (protojson adds the space or not depending on a hash of the executable,
// so that nobody relies on its exact bytes; the edge's answers still must not change
// when their encoder does).
var jsonComma = func() string {
	b, err := answerJSON.Marshal(&directoryv1.Money{})
	if err == nil && len(b) > 0 && string(b) == `{"amountCents":"0", "currency":""}` {
		return ", "
	}
	return ","
}()

// answerWriter appends one answer's JSON; ok turns false on anything protojson would
// refuse.
type answerWriter struct {
	b  []byte
	ok bool
}

// appendAnswer appends the JSON of v to b when v is one of wireAnswers.
func appendAnswer(b []byte, v proto.Message) ([]byte, bool) {
	m := v.ProtoReflect()
	md := m.Descriptor()
	if !wireAnswers[md.FullName()] {
		return b, false
	}
	var wire []byte
	if m.IsValid() {
		wire = m.GetUnknown()
	}
	if populated(m) { // made in this process, not received: its encoding is walked
		var err error
		if wire, err = proto.Marshal(v); err != nil {
			return b, false
		}
	}
	p := planOf(md)
	if p == nil {
		return b, false
	}
	w := answerWriter{b: b, ok: true}
	w.message(p, wire)
	return w.b, w.ok
}

// populated tells whether any of m's fields is set.
func populated(m protoreflect.Message) bool {
	set := false
	if m.IsValid() {
		m.Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool { set = true; return false })
	}
	return set
}

// plan is how message writes one message type: its fields in declaration order with
// what writing each needs, worked out once from the descriptor (walking the
// descriptor itself, through its interfaces, took two and a half times as long).
type plan struct {
	timestamp bool    // google.protobuf.Timestamp, written as a string
	fields    []field // in declaration order
	numbers   []bool  // by field number: whether it is one of fields
}

// field is one field of a plan.
type field struct {
	num      protowire.Number
	key      string // `"jsonName":`
	kind     protoreflect.Kind
	wire     protowire.Type // of one scalar value
	list     bool
	presence bool     // written only when on the wire
	enum     []string // an enum's value names by number ("" where it has none)
	values   protoreflect.EnumValueDescriptors
	msg      *plan
}

// known tells whether num is a field of p.
func (p *plan) known(num protowire.Number) bool {
	return num > 0 && int(num) < len(p.numbers) && p.numbers[num]
}

var plans sync.Map // protoreflect.FullName → *plan, or nil where message cannot write it

// planOf is md's plan, or nil when md has a field message cannot write (a map, a float,
// a group, a well-known type other than Timestamp).
func planOf(md protoreflect.MessageDescriptor) *plan {
	if p, ok := plans.Load(md.FullName()); ok {
		return p.(*plan)
	}
	p := makePlan(md, map[protoreflect.FullName]*plan{})
	plans.Store(md.FullName(), p)
	return p
}

func makePlan(md protoreflect.MessageDescriptor, making map[protoreflect.FullName]*plan) *plan {
	if p, ok := making[md.FullName()]; ok {
		return p // a message that contains itself
	}
	p := &plan{timestamp: md.FullName() == timestampName}
	making[md.FullName()] = p
	if p.timestamp {
		return p
	}
	if md.FullName().Parent() == "google.protobuf" {
		return nil // other well-known types have JSON forms of their own
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		f := field{num: fd.Number(), key: `"` + fd.JSONName() + `":`, kind: fd.Kind(), wire: scalarWireType(fd.Kind()),
			list: fd.IsList(), presence: fd.HasPresence()}
		switch {
		case fd.IsMap(), fd.Kind() == protoreflect.GroupKind, fd.Kind() == protoreflect.FloatKind:
			// float: protojson writes it at 32 bits' precision, which float does not.
			return nil
		case fd.Kind() == protoreflect.MessageKind:
			if f.msg = makePlan(fd.Message(), making); f.msg == nil {
				return nil
			}
		case fd.Kind() == protoreflect.EnumKind:
			values := fd.Enum().Values()
			f.values = values
			for k := range values.Len() {
				if v := values.Get(k); v.Number() >= 0 && v.Number() < 1024 {
					f.enum = append(f.enum, make([]string, max(0, int(v.Number())+1-len(f.enum)))...)
					f.enum[v.Number()] = string(v.Name())
				}
			}
		}
		p.fields = append(p.fields, f)
		if int(f.num) >= len(p.numbers) {
			if f.num > 1<<12 {
				return nil
			}
			p.numbers = append(p.numbers, make([]bool, int(f.num)+1-len(p.numbers))...)
		}
		p.numbers[f.num] = true
	}
	return p
}

// message writes the message of plan p encoded in b as protojson does with answerJSON:
// fields in declaration order, each field without presence of its own even when it is
// not on the wire, a message or optional field only when it is. It writes fields in
// the order they come, so it gives up on an encoding whose known fields are out of
// that order or repeat a singular field (valid protobuf, which protojson's decoded
// message answers instead); fields unknown to this binary are skipped, as protojson
// skips them.
func (w *answerWriter) message(p *plan, b []byte) {
	if p.timestamp {
		w.timestamp(b)
		return
	}
	w.b = append(w.b, '{')
	first := true
	for i := range p.fields {
		f := &p.fields[i]
		num, typ, n := w.next(p, f.num, &b)
		if !w.ok {
			return
		}
		present := num == f.num
		if !present && f.presence {
			continue
		}
		if !first {
			w.b = append(w.b, jsonComma...)
		}
		first = false
		w.b = append(w.b, f.key...)
		switch {
		case f.list:
			w.b = append(w.b, '[')
			for k := 0; num == f.num && w.ok; k++ {
				if k > 0 {
					w.b = append(w.b, jsonComma...)
				}
				b = w.listValues(f, typ, b[n:])
				num, typ, n = w.next(p, f.num, &b)
			}
			w.b = append(w.b, ']')
		case present:
			b = w.value(f, typ, b[n:])
			if num, _, _ := w.next(p, f.num, &b); num == f.num {
				w.ok = false // a repeated singular field: protobuf merges it
			}
		case f.kind == protoreflect.StringKind || f.kind == protoreflect.BytesKind:
			w.b = append(w.b, `""`...)
		default:
			w.scalar(f, 0)
		}
		if !w.ok {
			return
		}
	}
	if num, _, _ := w.next(p, math.MaxInt32, &b); num != 0 {
		w.ok = false // a known field after the last one
	}
	w.b = append(w.b, '}')
}

// next is the tag of the next field of p in *b (its number, wire type and length; 0
// at the end), after skipping the fields unknown to this binary. A field of p whose
// number is below want is out of order.
func (w *answerWriter) next(p *plan, want protowire.Number, b *[]byte) (protowire.Number, protowire.Type, int) {
	for len(*b) > 0 && w.ok {
		num, typ, n := protowire.ConsumeTag(*b)
		switch {
		case n < 0:
			w.ok = false
		case !p.known(num):
			m := protowire.ConsumeFieldValue(num, typ, (*b)[n:])
			if m < 0 {
				w.ok = false
			}
			*b = (*b)[n+max(m, 0):]
		case num < want:
			w.ok = false
		default:
			return num, typ, n
		}
	}
	return 0, 0, 0
}

// listValues writes one occurrence of the list field f (of wire type typ) at the start
// of b, "," between values: one element, or a packed run of scalars; it returns what
// follows.
func (w *answerWriter) listValues(f *field, typ protowire.Type, b []byte) []byte {
	if typ != protowire.BytesType || f.kind == protoreflect.StringKind || f.kind == protoreflect.BytesKind ||
		f.kind == protoreflect.MessageKind {
		return w.value(f, typ, b)
	}
	packed, n := protowire.ConsumeBytes(b)
	if n < 0 {
		w.ok = false
		return nil
	}
	for k := 0; len(packed) > 0 && w.ok; k++ {
		if k > 0 {
			w.b = append(w.b, jsonComma...)
		}
		packed = w.value(f, f.wire, packed)
	}
	return b[n:]
}

// scalarWireType is the wire type of one value of a scalar kind.
func scalarWireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	}
	return protowire.VarintType
}

// value writes one value of f, of wire type typ, at the start of b, and returns what
// follows it.
func (w *answerWriter) value(f *field, typ protowire.Type, b []byte) []byte {
	if typ != f.wire {
		w.ok = false
		return nil
	}
	var n int
	switch typ {
	case protowire.BytesType:
		var v []byte
		if v, n = protowire.ConsumeBytes(b); n < 0 {
			break
		}
		switch f.kind {
		case protoreflect.StringKind:
			w.string(unsafe.String(unsafe.SliceData(v), len(v)))
		case protoreflect.BytesKind:
			w.b = append(w.b, '"')
			w.b = base64.StdEncoding.AppendEncode(w.b, v)
			w.b = append(w.b, '"')
		default:
			w.message(f.msg, v)
		}
	case protowire.VarintType:
		var v uint64
		v, n = protowire.ConsumeVarint(b)
		w.scalar(f, v)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(b)
		w.scalar(f, uint64(v))
	default:
		var v uint64
		v, n = protowire.ConsumeFixed64(b)
		w.scalar(f, v)
	}
	if n < 0 || !w.ok {
		w.ok = false
		return nil
	}
	return b[n:]
}

// scalar writes a number, bool or enum value of f from its wire bits.
func (w *answerWriter) scalar(f *field, v uint64) {
	switch f.kind {
	case protoreflect.BoolKind:
		w.b = strconv.AppendBool(w.b, v != 0)
	case protoreflect.EnumKind:
		w.enum(int32(v), f)
	case protoreflect.Int32Kind, protoreflect.Sfixed32Kind:
		w.b = strconv.AppendInt(w.b, int64(int32(v)), 10)
	case protoreflect.Sint32Kind:
		w.b = strconv.AppendInt(w.b, int64(int32(protowire.DecodeZigZag(v&math.MaxUint32))), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		w.b = strconv.AppendUint(w.b, uint64(uint32(v)), 10)
	case protoreflect.Int64Kind, protoreflect.Sfixed64Kind, protoreflect.Sint64Kind:
		n := int64(v)
		if f.kind == protoreflect.Sint64Kind {
			n = protowire.DecodeZigZag(v)
		}
		w.b = append(w.b, '"')
		w.b = strconv.AppendInt(w.b, n, 10)
		w.b = append(w.b, '"')
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		w.b = append(w.b, '"')
		w.b = strconv.AppendUint(w.b, v, 10)
		w.b = append(w.b, '"')
	default: // double; makePlan leaves out the other kinds
		w.float(math.Float64frombits(v))
	}
}

// enum is protojson's enum: the value's name, or its number when the enum has no
// such value.
func (w *answerWriter) enum(n int32, f *field) {
	var name string
	if n >= 0 && int(n) < len(f.enum) {
		name = f.enum[n]
	} else if v := f.values.ByNumber(protoreflect.EnumNumber(n)); v != nil {
		name = string(v.Name())
	}
	if name == "" {
		w.b = strconv.AppendInt(w.b, int64(n), 10)
		return
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, '"')
}

// string is protojson's string: only '"', '\\' and control characters escaped
// (HTML characters and U+2028 as they are); invalid UTF-8 is an error.
func (w *answerWriter) string(s string) {
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				w.ok = false
				return
			}
			i += n
			continue
		}
		if c >= ' ' && c != '"' && c != '\\' {
			i++
			continue
		}
		w.b = append(w.b, s[start:i]...)
		w.b = append(w.b, '\\')
		switch c {
		case '"', '\\':
			w.b = append(w.b, c)
		case '\b':
			w.b = append(w.b, 'b')
		case '\f':
			w.b = append(w.b, 'f')
		case '\n':
			w.b = append(w.b, 'n')
		case '\r':
			w.b = append(w.b, 'r')
		case '\t':
			w.b = append(w.b, 't')
		default:
			w.b = append(w.b, 'u')
			w.b = append(w.b, "0000"[1+(bits.Len32(uint32(c))-1)/4:]...)
			w.b = strconv.AppendUint(w.b, uint64(c), 16)
		}
		i++
		start = i
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}

// float is protojson's double: encoding/json's number format, NaN and the infinities
// as strings.
func (w *answerWriter) float(n float64) {
	switch {
	case math.IsNaN(n):
		w.b = append(w.b, `"NaN"`...)
		return
	case math.IsInf(n, 1):
		w.b = append(w.b, `"Infinity"`...)
		return
	case math.IsInf(n, -1):
		w.b = append(w.b, `"-Infinity"`...)
		return
	}
	f := byte('f')
	if abs := math.Abs(n); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		f = 'e'
	}
	w.b = strconv.AppendFloat(w.b, n, f, -1, 64)
	if f == 'e' {
		// "1e-07" → "1e-7", as encoding/json writes it.
		if k := len(w.b); k >= 4 && w.b[k-4] == 'e' && w.b[k-3] == '-' && w.b[k-2] == '0' {
			w.b[k-2] = w.b[k-1]
			w.b = w.b[:k-1]
		}
	}
}

// The range of google.protobuf.Timestamp (0001-01-01 to 9999-12-31), as protojson
// checks it; nanos run from 0 to 999,999,999.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// timestampName is google.protobuf.Timestamp, which protojson writes as a string.
var timestampName = (*timestamppb.Timestamp)(nil).ProtoReflect().Descriptor().FullName()

// timestamp is protojson's Timestamp, from its encoding b: RFC 3339 in UTC with 0, 3,
// 6 or 9 fractional digits.
func (w *answerWriter) timestamp(b []byte) {
	var secs, nanos int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			w.ok = false
			return
		}
		b = b[n:]
		if (num == 1 || num == 2) && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				w.ok = false
				return
			}
			if num == 1 {
				secs = int64(v)
			} else {
				nanos = int64(int32(v))
			}
			b = b[n:]
			continue
		}
		if num == 1 || num == 2 {
			w.ok = false
			return
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			w.ok = false
			return
		}
		b = b[n:]
	}
	if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos > 999_999_999 {
		w.ok = false
		return
	}
	// Written digit by digit: through time's layout, a week of slots took 72 µs to
	// write instead of 55 (BenchmarkSlotsAnswerJSON).
	at := time.Unix(secs, 0).UTC()
	year, month, day := at.Date()
	hour, minute, second := at.Clock()
	w.b = append(w.b, '"')
	w.b = appendDigits(w.b, year, 4)
	w.b = append(w.b, '-')
	w.b = appendDigits(w.b, int(month), 2)
	w.b = append(w.b, '-')
	w.b = appendDigits(w.b, day, 2)
	w.b = append(w.b, 'T')
	w.b = appendDigits(w.b, hour, 2)
	w.b = append(w.b, ':')
	w.b = appendDigits(w.b, minute, 2)
	w.b = append(w.b, ':')
	w.b = appendDigits(w.b, second, 2)
	switch {
	case nanos == 0:
	case nanos%1_000_000 == 0:
		w.b = append(w.b, '.')
		w.b = appendDigits(w.b, int(nanos/1_000_000), 3)
	case nanos%1_000 == 0:
		w.b = append(w.b, '.')
		w.b = appendDigits(w.b, int(nanos/1_000), 6)
	default:
		w.b = append(w.b, '.')
		w.b = appendDigits(w.b, int(nanos), 9)
	}
	w.b = append(w.b, 'Z', '"')
}

// appendDigits appends n (≥ 0) as exactly width decimal digits, zeros first.
func appendDigits(b []byte, n, width int) []byte {
	k := len(b)
	for range width {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= k && n > 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}
