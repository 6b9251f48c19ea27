package gateway

import (
	"math"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
)

// The answers the edge writes most (a search page, a doctor's profile, a week of a
// doctor's free slots) are written
// here from the generated structs, without protojson's walk over protoreflect values:
// byte for byte what protojson with answerJSON writes for them (TestAnswerJSON
// compares both over randomised messages). Anything protojson would refuse (a string
// that is not UTF-8, a timestamp out of range) makes appendAnswer give up, and
// protojson answers instead, with its own error.

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

// appendAnswer appends the JSON of v to b when v is one of the answers written here.
func appendAnswer(b []byte, v proto.Message) ([]byte, bool) {
	w := answerWriter{b: b, ok: true}
	switch m := v.(type) {
	case *directoryv1.SearchDoctorsResponse:
		w.searchDoctorsResponse(m)
	case *directoryv1.GetDoctorResponse:
		w.getDoctorResponse(m)
	case *schedulingv1.ListAvailableSlotsResponse:
		w.listAvailableSlotsResponse(m)
	default:
		return b, false
	}
	return w.b, w.ok
}

func (w *answerWriter) searchDoctorsResponse(m *directoryv1.SearchDoctorsResponse) {
	w.b = append(w.b, `{"results":[`...)
	for i, r := range m.GetResults() {
		if i > 0 {
			w.b = append(w.b, jsonComma...)
		}
		w.searchResult(r)
	}
	w.b = append(w.b, ']')
	w.name("nextPageToken")
	w.string(m.GetNextPageToken())
	w.b = append(w.b, '}')
}

func (w *answerWriter) getDoctorResponse(m *directoryv1.GetDoctorResponse) {
	w.b = append(w.b, '{')
	if p := m.GetProfile(); p != nil {
		w.b = append(w.b, `"profile":`...)
		w.profile(p)
		w.b = append(w.b, jsonComma...)
	}
	w.b = append(w.b, `"latestReviews":[`...)
	for i, r := range m.GetLatestReviews() {
		if i > 0 {
			w.b = append(w.b, jsonComma...)
		}
		w.review(r)
	}
	w.b = append(w.b, "]}"...)
}

func (w *answerWriter) searchResult(m *directoryv1.SearchResult) {
	w.b = append(w.b, '{')
	if p := m.GetProfile(); p != nil {
		w.b = append(w.b, `"profile":`...)
		w.profile(p)
		w.b = append(w.b, jsonComma...)
	}
	w.b = append(w.b, `"distanceKm":`...)
	w.float(m.GetDistanceKm())
	w.b = append(w.b, '}')
}

func (w *answerWriter) profile(m *directoryv1.Profile) {
	w.b = append(w.b, `{"doctorId":`...)
	w.string(m.GetDoctorId())
	w.name("crmNumber")
	w.string(m.GetCrmNumber())
	w.name("crmUf")
	w.string(m.GetCrmUf())
	w.name("displayName")
	w.string(m.GetDisplayName())
	w.name("photoUrl")
	w.string(m.GetPhotoUrl())
	w.name("bio")
	w.string(m.GetBio())
	w.name("specialties")
	w.b = append(w.b, '[')
	for i, s := range m.GetSpecialties() {
		if i > 0 {
			w.b = append(w.b, jsonComma...)
		}
		w.b = append(w.b, `{"code":`...)
		w.string(s.GetCode())
		w.name("name")
		w.string(s.GetName())
		w.name("rqe")
		w.string(s.GetRqe())
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
	if p := m.GetPrice(); p != nil {
		w.name("price")
		w.money(p.GetAmountCents(), p.GetCurrency())
	}
	w.name("consultationMinutes")
	w.b = strconv.AppendInt(w.b, int64(m.GetConsultationMinutes()), 10)
	w.name("languages")
	w.b = append(w.b, '[')
	for i, l := range m.GetLanguages() {
		if i > 0 {
			w.b = append(w.b, jsonComma...)
		}
		w.string(l)
	}
	w.b = append(w.b, ']')
	if l := m.GetLocation(); l != nil {
		w.name("location")
		w.location(l)
	}
	w.name("timeZone")
	w.string(m.GetTimeZone())
	w.name("ratingAverage")
	w.float(m.GetRatingAverage())
	w.name("ratingCount")
	w.b = strconv.AppendInt(w.b, int64(m.GetRatingCount()), 10)
	w.name("listed")
	w.b = strconv.AppendBool(w.b, m.GetListed())
	if t := m.GetUpdateTime(); t != nil {
		w.name("updateTime")
		w.timestamp(t)
	}
	w.b = append(w.b, '}')
}

func (w *answerWriter) location(m *directoryv1.Location) {
	w.b = append(w.b, `{"address":`...)
	w.string(m.GetAddress())
	w.name("city")
	w.string(m.GetCity())
	w.name("uf")
	w.string(m.GetUf())
	if p := m.GetPoint(); p != nil {
		w.name("point")
		w.b = append(w.b, '{')
		if p.Latitude != nil {
			w.b = append(w.b, `"latitude":`...)
			w.float(*p.Latitude)
		}
		if p.Longitude != nil {
			if p.Latitude != nil {
				w.b = append(w.b, jsonComma...)
			}
			w.b = append(w.b, `"longitude":`...)
			w.float(*p.Longitude)
		}
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, '}')
}

func (w *answerWriter) review(m *directoryv1.Review) {
	w.b = append(w.b, `{"id":`...)
	w.string(m.GetId())
	w.name("doctorId")
	w.string(m.GetDoctorId())
	w.name("stars")
	w.b = strconv.AppendInt(w.b, int64(m.GetStars()), 10)
	w.name("comment")
	w.string(m.GetComment())
	w.name("commentHtml")
	w.string(m.GetCommentHtml())
	if t := m.GetCreateTime(); t != nil {
		w.name("createTime")
		w.timestamp(t)
	}
	w.b = append(w.b, '}')
}

func (w *answerWriter) listAvailableSlotsResponse(m *schedulingv1.ListAvailableSlotsResponse) {
	w.b = append(w.b, `{"slots":[`...)
	for i, s := range m.GetSlots() {
		if i > 0 {
			w.b = append(w.b, jsonComma...)
		}
		w.slot(s)
	}
	w.b = append(w.b, ']')
	if p := m.GetPrice(); p != nil {
		w.name("price")
		w.money(p.GetAmountCents(), p.GetCurrency())
	}
	w.name("timeZone")
	w.string(m.GetTimeZone())
	w.b = append(w.b, '}')
}

func (w *answerWriter) slot(m *schedulingv1.Slot) {
	w.b = append(w.b, `{"id":`...)
	w.string(m.GetId())
	w.name("doctorId")
	w.string(m.GetDoctorId())
	if t := m.GetStartTime(); t != nil {
		w.name("startTime")
		w.timestamp(t)
	}
	if t := m.GetEndTime(); t != nil {
		w.name("endTime")
		w.timestamp(t)
	}
	w.name("status")
	w.enum(protoreflect.EnumNumber(m.GetStatus()), m.GetStatus().Descriptor().Values())
	if a := m.GetAppointment(); a != nil {
		w.name("appointment")
		w.b = append(w.b, `{"id":`...)
		w.string(a.GetId())
		w.name("patientId")
		w.string(a.GetPatientId())
		w.name("state")
		w.string(a.GetState())
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, '}')
}

// money is a Money message (directory's and scheduling's have the same fields).
func (w *answerWriter) money(cents int64, currency string) {
	w.b = append(w.b, `{"amountCents":"`...)
	w.b = strconv.AppendInt(w.b, cents, 10)
	w.b = append(w.b, '"')
	w.name("currency")
	w.string(currency)
	w.b = append(w.b, '}')
}

// enum is protojson's enum: the value's name, or its number when the enum has no
// such value.
func (w *answerWriter) enum(n protoreflect.EnumNumber, values protoreflect.EnumValueDescriptors) {
	v := values.ByNumber(n)
	if v == nil {
		w.b = strconv.AppendInt(w.b, int64(n), 10)
		return
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, v.Name()...)
	w.b = append(w.b, '"')
}

// name starts a member that follows another: the separator, then the name (a JSON
// name of the generated messages, which never needs escaping).
func (w *answerWriter) name(n string) {
	w.b = append(w.b, jsonComma...)
	w.b = append(w.b, '"')
	w.b = append(w.b, n...)
	w.b = append(w.b, '"', ':')
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

// timestamp is protojson's Timestamp: RFC 3339 in UTC with 0, 3, 6 or 9 fractional
// digits.
func (w *answerWriter) timestamp(t *timestamppb.Timestamp) {
	secs, nanos := t.GetSeconds(), int64(t.GetNanos())
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
