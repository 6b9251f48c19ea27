package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
)

// answerGen makes random answers that reach every branch of appendAnswer: strings
// with quotes, control characters, HTML characters, U+2028, U+FFFD and now and then
// invalid UTF-8; doubles at the edges of the number formats; unset messages and
// optional fields; timestamps of every precision, some out of range.
type answerGen struct{ r *rand.Rand }

func (g answerGen) string() string {
	pieces := []string{"", "a", "Dra. Ana Souza", `"`, `\`, "\n", "\t", "\r", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f",
		"<b>&amp;</b>", "\u2028", "\u2029", "\ufffd", "ção", "日本", "😀", "/", "'", " "}
	if g.r.IntN(40) == 0 {
		pieces = append(pieces, "\xff", "\xc3", "\xed\xa0\x80") // invalid UTF-8: protojson refuses it
	}
	var b strings.Builder
	for range g.r.IntN(6) {
		b.WriteString(pieces[g.r.IntN(len(pieces))])
	}
	return b.String()
}

func (g answerGen) float() float64 {
	switch g.r.IntN(12) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[g.r.IntN(3)]
	case 3:
		return []float64{1e-6, 9.99e-7, 1e-7, 1e21, 9.99e20, 1e-300, 5e-324, math.MaxFloat64, 1e100}[g.r.IntN(9)] * float64(1-2*g.r.IntN(2))
	case 4:
		return math.Round(g.r.Float64()*5000) / 10 // a distance rounded to 0.1 km
	case 5:
		return float64(g.r.IntN(6))
	default:
		return (g.r.Float64() - 0.5) * math.Pow(10, float64(g.r.IntN(50)-25))
	}
}

func (g answerGen) timestamp() *timestamppb.Timestamp {
	switch g.r.IntN(8) {
	case 0:
		return nil
	case 1:
		return &timestamppb.Timestamp{Seconds: g.r.Int64N(400_000_000_000) - 100_000_000_000, Nanos: g.r.Int32N(1_000_000_100) - 50} // sometimes out of range
	case 2:
		return &timestamppb.Timestamp{Seconds: []int64{minTimestampSeconds, maxTimestampSeconds, 0, -1}[g.r.IntN(4)], Nanos: []int32{0, 999_999_999, 1_000_000_000}[g.r.IntN(3)]}
	}
	nanos := []int32{0, 1, 1000, 1_000_000, 120_000_000, 123_456_000, 123_456_789, 999_999_999}[g.r.IntN(8)]
	return &timestamppb.Timestamp{Seconds: 1_700_000_000 + g.r.Int64N(100_000_000), Nanos: nanos}
}

func (g answerGen) strings() []string {
	if g.r.IntN(3) == 0 {
		return nil
	}
	out := make([]string, g.r.IntN(4))
	for i := range out {
		out[i] = g.string()
	}
	return out
}

func (g answerGen) optionalFloat() *float64 {
	if g.r.IntN(4) == 0 {
		return nil
	}
	f := g.float()
	return &f
}

func (g answerGen) profile() *directoryv1.Profile {
	if g.r.IntN(10) == 0 {
		return nil
	}
	p := &directoryv1.Profile{
		DoctorId: g.string(), CrmNumber: g.string(), CrmUf: g.string(), DisplayName: g.string(),
		PhotoUrl: g.string(), Bio: g.string(), ConsultationMinutes: g.r.Int32() - g.r.Int32(),
		Languages: g.strings(), TimeZone: g.string(), RatingAverage: g.float(),
		RatingCount: g.r.Int32() - g.r.Int32(), Listed: g.r.IntN(2) == 0, UpdateTime: g.timestamp(),
	}
	for range g.r.IntN(4) {
		p.Specialties = append(p.Specialties, &directoryv1.Specialty{Code: g.string(), Name: g.string(), Rqe: g.string()})
	}
	if g.r.IntN(5) != 0 {
		p.Price = &directoryv1.Money{AmountCents: g.r.Int64() - g.r.Int64(), Currency: g.string()}
	}
	if g.r.IntN(5) != 0 {
		p.Location = &directoryv1.Location{Address: g.string(), City: g.string(), Uf: g.string()}
		if g.r.IntN(5) != 0 {
			p.Location.Point = &directoryv1.LatLng{Latitude: g.optionalFloat(), Longitude: g.optionalFloat()}
		}
	}
	return p
}

// slots is a week of free slots: statuses known and unknown to the enum, now and then
// an appointment (the agenda's), unset times and price.
func (g answerGen) slots() *schedulingv1.ListAvailableSlotsResponse {
	m := &schedulingv1.ListAvailableSlotsResponse{TimeZone: g.string()}
	if g.r.IntN(5) != 0 {
		m.Price = &schedulingv1.Money{AmountCents: g.r.Int64() - g.r.Int64(), Currency: g.string()}
	}
	for range g.r.IntN(6) {
		s := &schedulingv1.Slot{Id: g.string(), DoctorId: g.string(), StartTime: g.timestamp(), EndTime: g.timestamp(),
			Status: schedulingv1.SlotStatus(g.r.IntN(6))}
		if g.r.IntN(4) == 0 {
			s.Appointment = &schedulingv1.AppointmentSummary{Id: g.string(), PatientId: g.string(), State: g.string()}
		}
		m.Slots = append(m.Slots, s)
	}
	return m
}

func (g answerGen) answer() proto.Message {
	if g.r.IntN(3) == 0 {
		return g.slots()
	}
	if g.r.IntN(2) == 0 {
		m := &directoryv1.GetDoctorResponse{Profile: g.profile()}
		for range g.r.IntN(4) {
			m.LatestReviews = append(m.LatestReviews, &directoryv1.Review{
				Id: g.string(), DoctorId: g.string(), Stars: g.r.Int32N(7) - 1, Comment: g.string(),
				CommentHtml: g.string(), CreateTime: g.timestamp(),
			})
		}
		return m
	}
	m := &directoryv1.SearchDoctorsResponse{NextPageToken: g.string()}
	for range g.r.IntN(5) {
		m.Results = append(m.Results, &directoryv1.SearchResult{Profile: g.profile(), DistanceKm: g.float()})
	}
	return m
}

// The answers appendAnswer writes are byte for byte protojson's with the edge's
// options, and it gives up exactly where protojson fails.
func TestAnswerJSON(t *testing.T) {
	g := answerGen{rand.New(rand.NewPCG(1, 2))}
	refused := 0
	for i := range 20_000 {
		m := g.answer()
		want, wantErr := answerJSON.Marshal(m)
		got, ok := appendAnswer(nil, m)
		// As the edge receives it, when a service could send it (protobuf refuses to
		// encode a string that is not UTF-8): the same bytes.
		if _, err := proto.Marshal(m); err == nil {
			if raw, rawOK := appendAnswer(nil, received(t, m)); rawOK != ok || !bytes.Equal(raw, got) {
				t.Fatalf("message %d as the edge receives it: wrote %s (%t), and %s (%t) from the message", i, raw, rawOK, got, ok)
			}
		}
		switch {
		case wantErr != nil && ok:
			t.Fatalf("message %d: protojson fails (%v) but appendAnswer wrote %s\n%v", i, wantErr, got, m)
		case wantErr != nil:
			refused++
		case !ok:
			t.Fatalf("message %d: appendAnswer gave up where protojson wrote %s\n%v", i, want, m)
		case !bytes.Equal(got, want):
			t.Fatalf("message %d:\n got %s\nwant %s", i, got, want)
		default:
			// Every separator is jsonComma, whichever protojson uses in this binary:
			// with a marked one, every comma carries the mark (the strings made here
			// have no commas or @ of their own).
			comma := jsonComma
			jsonComma = ",@"
			marked, _ := appendAnswer(nil, m)
			jsonComma = comma
			if bytes.Count(marked, []byte(",")) != bytes.Count(marked, []byte(",@")) ||
				!bytes.Equal(bytes.ReplaceAll(marked, []byte(",@"), []byte(comma)), want) {
				t.Fatalf("message %d: a separator is not jsonComma: %s", i, marked)
			}
		}
	}
	if refused == 0 || refused > 10_000 {
		t.Errorf("%d of the messages refused: the generator should make a few that protojson refuses", refused)
	}
	// The edge's marshaler uses it, and appends to what it is given.
	m := g.answer()
	want, _ := answerJSON.Marshal(m)
	if got, ok := appendAnswer([]byte("x"), m); ok && string(got) != "x"+string(want) {
		t.Errorf("appended %s, want x%s", got, want)
	}
	// A nil answer of either type is written as protojson writes it.
	for _, m := range []proto.Message{(*directoryv1.SearchDoctorsResponse)(nil), (*directoryv1.GetDoctorResponse)(nil),
		(*schedulingv1.ListAvailableSlotsResponse)(nil)} {
		want, _ := answerJSON.Marshal(m)
		if got, ok := appendAnswer(nil, m); !ok || !bytes.Equal(got, want) {
			t.Errorf("nil %T: wrote %s, want %s", m, got, want)
		}
	}
	if _, ok := appendAnswer(nil, &directoryv1.Money{}); ok {
		t.Error("appendAnswer wrote a message it does not know")
	}
}

// received is m as answerCodec hands it to the edge: a message of its type holding
// m's encoding only.
func received(t testing.TB, m proto.Message) proto.Message {
	t.Helper()
	wire, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := m.ProtoReflect().New().Interface()
	if err := (answerCodec{encoding.GetCodecV2(grpcproto.Name)}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, out); err != nil {
		t.Fatal(err)
	}
	if populated(out.ProtoReflect()) || !bytes.Equal(out.ProtoReflect().GetUnknown(), wire) {
		t.Fatalf("answerCodec decoded a %T instead of keeping its encoding", m)
	}
	return out
}

// answerCodec keeps the answers written from their encoding as it, and decodes every
// other message.
func TestAnswerCodec(t *testing.T) {
	c := answerCodec{encoding.GetCodecV2(grpcproto.Name)}
	if c.Name() != "proto" {
		t.Errorf("Name = %q: the content type would change", c.Name())
	}
	money := &directoryv1.Money{AmountCents: 25000, Currency: "BRL"}
	wire, _ := proto.Marshal(money)
	var got directoryv1.Money
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &got); err != nil || !proto.Equal(&got, money) || len(got.ProtoReflect().GetUnknown()) > 0 {
		t.Errorf("a message not written here: %v, %v; want it decoded", &got, err)
	}
	kept := received(t, searchAnswer())
	if len(kept.(*directoryv1.SearchDoctorsResponse).GetResults()) != 0 {
		t.Error("the search answer was decoded")
	}
	back, err := decodedAnswer(kept)
	if err != nil || !proto.Equal(back, searchAnswer()) {
		t.Errorf("decodedAnswer = %v, %v; want the search answer", back, err)
	}
	out, err := c.Marshal(searchAnswer())
	if err != nil || !bytes.Equal(out.Materialize(), must(proto.Marshal(searchAnswer()))) {
		t.Errorf("Marshal: %v; want the proto codec's bytes", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Encodings other than the Go marshaller's are written as protojson writes the decoded
// message: fields unknown to this binary skipped wherever they are; a packed list as
// a list; fields out of order or a singular field twice are left to protojson.
func TestAnswerJSON_OtherEncodings(t *testing.T) {
	m := slotsAnswer()
	m.Slots = m.Slots[:2]
	want := must(answerJSON.Marshal(m))
	wire := must(proto.Marshal(m))
	unknown := protowire.AppendString(protowire.AppendTag(nil, 99, protowire.BytesType), "from a newer release")
	unknown = protowire.AppendVarint(protowire.AppendTag(unknown, 98, protowire.VarintType), 7)
	slotWire := must(proto.Marshal(m.Slots[0]))
	withUnknownInSlot := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), append(append([]byte{}, unknown...), slotWire...))
	mj := &jsonMarshaler{JSONPb: &runtime.JSONPb{MarshalOptions: answerJSON}}
	for _, tt := range []struct {
		name string
		wire []byte
		fast bool // written by message, not left to protojson
		want []byte
	}{
		{"unknown fields first", append(append([]byte{}, unknown...), wire...), true, want},
		{"unknown fields last", append(append([]byte{}, wire...), unknown...), true, want},
		{"unknown fields in an element", append(append([]byte{}, withUnknownInSlot...), wire...), true,
			must(answerJSON.Marshal(&schedulingv1.ListAvailableSlotsResponse{Slots: append([]*schedulingv1.Slot{m.Slots[0]}, m.Slots...),
				Price: m.Price, TimeZone: m.TimeZone}))},
		{"fields out of order", append(protowire.AppendString(protowire.AppendTag(nil, 3, protowire.BytesType), "UTC"), wire...), false,
			must(answerJSON.Marshal(&schedulingv1.ListAvailableSlotsResponse{Slots: m.Slots, Price: m.Price, TimeZone: m.TimeZone}))},
		{"a singular field twice", append(append([]byte{}, wire...), protowire.AppendString(protowire.AppendTag(nil, 3, protowire.BytesType), "UTC")...), false,
			must(answerJSON.Marshal(&schedulingv1.ListAvailableSlotsResponse{Slots: m.Slots, Price: m.Price, TimeZone: "UTC"}))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := &schedulingv1.ListAvailableSlotsResponse{}
			got.ProtoReflect().SetUnknown(tt.wire)
			written, ok := appendAnswer(nil, got)
			if ok != tt.fast || ok && !bytes.Equal(written, tt.want) {
				t.Errorf("appendAnswer = %s, %t; want %s, %t", written, ok, tt.want, tt.fast)
			}
			answer, err := mj.Marshal(got)
			if err != nil || !bytes.Equal(answer, tt.want) {
				t.Errorf("the marshaler answered %s, %v; want %s", answer, err, tt.want)
			}
		})
	}
	// A list of scalars, packed (proto3's encoding) or one tag a value: none of these
	// answers has one, so the walk is checked on a message of the platform that has.
	states := &schedulingv1.ListDoctorAppointmentsRequest{DoctorId: "d", States: []schedulingv1.AppointmentState{
		schedulingv1.AppointmentState_APPOINTMENT_STATE_CONFIRMED, 0, 99, schedulingv1.AppointmentState_APPOINTMENT_STATE_CANCELLED}}
	wantStates := must(answerJSON.Marshal(states))
	unpacked := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "d")
	for _, st := range states.States {
		unpacked = protowire.AppendVarint(protowire.AppendTag(unpacked, 2, protowire.VarintType), uint64(st))
	}
	for name, wire := range map[string][]byte{"packed": must(proto.Marshal(states)), "unpacked": unpacked} {
		w := answerWriter{ok: true}
		w.message(planOf(states.ProtoReflect().Descriptor()), wire)
		if !w.ok || !bytes.Equal(w.b, wantStates) {
			t.Errorf("%s list of enums: %s (%t), want %s", name, w.b, w.ok, wantStates)
		}
	}
	// An answer the service could not have sent is a failure, not an empty answer.
	broken := &directoryv1.SearchDoctorsResponse{}
	broken.ProtoReflect().SetUnknown([]byte{0x0a, 0x7f, 0x01})
	if _, ok := appendAnswer(nil, broken); ok {
		t.Error("appendAnswer wrote a truncated encoding")
	}
	if answer, err := mj.Marshal(broken); err == nil {
		t.Errorf("the marshaler answered %s for a truncated encoding", answer)
	}
	// The indented form (a client's ?pretty) decodes the answer first.
	indented := &jsonMarshaler{JSONPb: &runtime.JSONPb{MarshalOptions: protojson.MarshalOptions{EmitDefaultValues: true, Indent: "  "}}}
	pretty, err := indented.Marshal(received(t, m))
	var doc struct {
		Slots    []json.RawMessage `json:"slots"`
		TimeZone string            `json:"timeZone"`
	}
	if err != nil || json.Unmarshal(pretty, &doc) != nil || len(doc.Slots) != 2 || doc.TimeZone != "America/Sao_Paulo" {
		t.Errorf("indented: %s, %v", pretty, err)
	}
}

// The edge's marshaler answers with appendAnswer's bytes and protojson's error.
func TestMarshalerAnswers(t *testing.T) {
	mj := &jsonMarshaler{JSONPb: &runtime.JSONPb{MarshalOptions: answerJSON}}
	m := &directoryv1.SearchDoctorsResponse{Results: []*directoryv1.SearchResult{{DistanceKm: 1.5, Profile: &directoryv1.Profile{DisplayName: "Dra. Ana"}}}}
	want, _ := answerJSON.Marshal(m)
	for range 3 {
		got, err := mj.Marshal(m)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Marshal = %s, %v; want %s", got, err, want)
		}
	}
	bad := &directoryv1.SearchDoctorsResponse{NextPageToken: "\xff"}
	if _, err := mj.Marshal(bad); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("Marshal of invalid UTF-8: %v, want protojson's error", err)
	}
}

// searchAnswer is a search page as the benchmark's searches return: 20 doctors.
func searchAnswer() *directoryv1.SearchDoctorsResponse {
	m := &directoryv1.SearchDoctorsResponse{NextPageToken: "eyJkIjoxMi4zLCJpZCI6IjAxOTNhYmNkLWVmMDEtNzIzNC04NTY3LTg5YWJjZGVmMDEyMyJ9"}
	lat, lng := -23.5505, -46.6333
	for i := range 20 {
		m.Results = append(m.Results, &directoryv1.SearchResult{DistanceKm: float64(i) * 1.3, Profile: &directoryv1.Profile{
			DoctorId: "0193abcd-ef01-7234-8567-89abcdef0123", CrmNumber: "123456", CrmUf: "SP",
			DisplayName: "Dra. Ana Souza da Conceição", PhotoUrl: "https://example.com/photos/ana.jpg",
			Bio:         "Clínica geral com 15 anos de experiência em atenção primária, saúde da família e telemedicina.",
			Specialties: []*directoryv1.Specialty{{Code: "clinica_medica", Name: "Clínica Médica", Rqe: "12345"}, {Code: "cardiologia", Name: "Cardiologia"}},
			Price:       &directoryv1.Money{AmountCents: 25000, Currency: "BRL"}, ConsultationMinutes: 50,
			Languages: []string{"pt", "en"}, TimeZone: "America/Sao_Paulo", RatingAverage: 4.7, RatingCount: 132, Listed: true,
			Location:   &directoryv1.Location{Address: "Av. Paulista, 1000", City: "São Paulo", Uf: "SP", Point: &directoryv1.LatLng{Latitude: &lat, Longitude: &lng}},
			UpdateTime: &timestamppb.Timestamp{Seconds: 1_764_000_000, Nanos: 123_456_000},
		}})
	}
	return m
}

// slotsAnswer is a doctor's week as the users test reads it: 16 free slots a day for
// seven days.
func slotsAnswer() *schedulingv1.ListAvailableSlotsResponse {
	m := &schedulingv1.ListAvailableSlotsResponse{Price: &schedulingv1.Money{AmountCents: 25000, Currency: "BRL"}, TimeZone: "America/Sao_Paulo"}
	start := int64(1_765_000_800)
	for i := range 7 * 16 {
		at := start + int64(i/16)*86_400 + int64(i%16)*3_600
		m.Slots = append(m.Slots, &schedulingv1.Slot{
			Id: "0193abcd-ef01-7234-8567-89abcdef0123", DoctorId: "0193abcd-ef01-7234-8567-89abcdef0456",
			StartTime: &timestamppb.Timestamp{Seconds: at}, EndTime: &timestamppb.Timestamp{Seconds: at + 3_000},
			Status: schedulingv1.SlotStatus_SLOT_STATUS_OPEN,
		})
	}
	return m
}

func BenchmarkSearchAnswerJSON(b *testing.B) { benchmarkAnswerJSON(b, searchAnswer()) }

func BenchmarkSlotsAnswerJSON(b *testing.B) { benchmarkAnswerJSON(b, slotsAnswer()) }

func benchmarkAnswerJSON(b *testing.B, m proto.Message) {
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := answerJSON.MarshalAppend(make([]byte, 0, 16<<10), m); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What the edge did with an answer before it kept the encoding: decode it (the
	// gRPC codec), then write it.
	wire := must(proto.Marshal(m))
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := proto.Unmarshal(wire, m.ProtoReflect().New().Interface()); err != nil {
				b.Fatal(err)
			}
		}
	})
	kept := received(b, m)
	b.Run("kept encoding+appendAnswer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := appendAnswer(make([]byte, 0, 16<<10), kept); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("appendAnswer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := appendAnswer(make([]byte, 0, 16<<10), m); !ok {
				b.Fatal("refused")
			}
		}
	})
}

// A field added to an answer written here must be written here too: every field of
// the answers, and of every message in them, set by reflection (so a field the
// generator above does not know yet is set as well) must come out as protojson
// writes it.
func TestAnswerJSON_EveryField(t *testing.T) {
	for _, m := range []proto.Message{&directoryv1.SearchDoctorsResponse{}, &directoryv1.GetDoctorResponse{},
		&schedulingv1.ListAvailableSlotsResponse{}} {
		fillEveryField(m.ProtoReflect(), 0)
		want, err := answerJSON.Marshal(m)
		if err != nil {
			t.Fatalf("%T: protojson: %v", m, err)
		}
		for _, m := range []proto.Message{m, received(t, m)} {
			got, ok := appendAnswer(nil, m)
			if !ok || !bytes.Equal(got, want) {
				t.Errorf("%T with every field set (a field of a kind message does not write?):\n got %s\nwant %s", m, got, want)
			}
		}
	}
}

// fillEveryField sets every field of m to a value that is not its default: lists get
// two elements, messages are filled in turn (to a depth of four).
func fillEveryField(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		switch {
		case f.IsMap():
			continue // none in these answers; protojson's map order would need sorting here
		case f.IsList():
			l := m.Mutable(f).List()
			for range 2 {
				if f.Kind() == protoreflect.MessageKind {
					e := l.NewElement()
					fillEveryField(e.Message(), depth+1)
					l.Append(e)
				} else {
					l.Append(scalarValue(f))
				}
			}
		case f.Kind() == protoreflect.MessageKind && depth < 4:
			fillEveryField(m.Mutable(f).Message(), depth+1)
		case f.Kind() != protoreflect.MessageKind:
			m.Set(f, scalarValue(f))
		}
	}
}

// scalarValue is a value of f's kind that is not its default.
func scalarValue(f protoreflect.FieldDescriptor) protoreflect.Value {
	switch f.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		vals := f.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(vals.Len() - 1).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(7)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(7)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(7)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(7)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(1.5)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(2.25)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(string(f.Name()))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(f.Name()))
	}
	panic(fmt.Sprintf("no value for %s of kind %s", f.FullName(), f.Kind()))
}
