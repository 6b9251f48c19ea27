package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// requestBody is a JSON route's body. The decoder leaves on it the answer for a body
// it cannot read — grpc-gateway turns a decoding error into its bare text, which the
// error handler replaces with this.
type requestBody struct {
	io.ReadCloser
	problem    *status.Status
	httpStatus int
}

// trackBody lets the decoder report on the request's body.
func trackBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &requestBody{ReadCloser: r.Body}
		next.ServeHTTP(w, r)
	})
}

// jsonMarshaler is grpc-gateway's protojson marshaler whose decoder reads the whole
// body as one JSON value (nothing may follow it) and describes what it cannot read:
// where, which field, and what was expected.
type jsonMarshaler struct {
	*runtime.JSONPb
	// sizes is the length of the last answer of each message type (by full name),
	// a hint for the next one's buffer.
	sizes sync.Map
}

// Marshal writes a message's JSON straight into a buffer of about the size the last
// answer of its type took — the bytes runtime.JSONPb writes, without growing a buffer
// from nothing and copying it once more (a search's answer is about 10 KB). The
// hottest answers are written by appendAnswer, the others by protojson.
func (m *jsonMarshaler) Marshal(v any) ([]byte, error) {
	pm, ok := v.(proto.Message)
	if !ok {
		return m.JSONPb.Marshal(v)
	}
	if m.Indent != "" {
		d, err := decodedAnswer(pm)
		if err != nil {
			return nil, err
		}
		return m.JSONPb.Marshal(d)
	}
	name := pm.ProtoReflect().Descriptor().FullName()
	hint := 256
	if h, ok := m.sizes.Load(name); ok {
		hint = h.(int)
	}
	b, ok := make([]byte, 0, hint), false
	if m.MarshalOptions == answerJSON {
		b, ok = appendAnswer(b, pm)
	}
	if !ok {
		d, err := decodedAnswer(pm)
		if err != nil {
			return nil, err
		}
		if b, err = m.MarshalOptions.MarshalAppend(b[:0], d); err != nil {
			return nil, err
		}
	}
	if len(b) > hint || len(b) < hint/4 {
		m.sizes.Store(name, len(b)+len(b)/4)
	}
	return b, nil
}

func (m *jsonMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		body, _ := r.(*requestBody)
		fail := func(s *status.Status, httpStatus int, err error) error {
			if body != nil {
				body.problem, body.httpStatus = s, httpStatus
			}
			return err
		}
		raw, err := io.ReadAll(r)
		if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return fail(reasonStatus(ReasonBodyTooLarge,
				"the request body is over the limit of "+strconv.FormatInt(tooLarge.Limit, 10)+" bytes"),
				http.StatusRequestEntityTooLarge, err)
		}
		if err != nil {
			return fail(reasonStatus(ReasonMalformedJSON, "the request body could not be read whole"), http.StatusBadRequest, err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			if err == io.EOF {
				return io.EOF // no body: the request's fields keep their defaults
			}
			return fail(reasonStatus(ReasonMalformedJSON, syntaxMessage(raw, err)), http.StatusBadRequest, err)
		}
		start := int(dec.InputOffset()) - len(value)
		if rest := bytes.TrimSpace(raw[dec.InputOffset():]); len(rest) > 0 {
			line, col := position(raw, int(dec.InputOffset())+bytes.Index(raw[dec.InputOffset():], rest[:1]))
			return fail(reasonStatus(ReasonMalformedJSON, "the request body is not one JSON value: more follows it at "+at(line, col)),
				http.StatusBadRequest, errors.New("trailing data"))
		}
		if pm, ok := v.(proto.Message); ok {
			value = jsonMaskNames(pm.ProtoReflect().Descriptor(), value)
		}
		if err := m.Unmarshal(value, v); err != nil {
			msg, field := protoJSONMessage(raw, start, err)
			s := reasonStatus(ReasonMalformedJSON, msg)
			if field != "" {
				s = reasonStatus(ReasonMalformedJSON, msg, field, msg)
			}
			return fail(s, http.StatusBadRequest, err)
		}
		return nil
	})
}

// syntaxMessage describes a body that is not JSON.
func syntaxMessage(raw []byte, err error) string {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		line, col := position(raw, int(se.Offset))
		return "the request body is not valid JSON at " + at(line, col) + ": " + se.Error()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the request body ends before its JSON value does"
	}
	return "the request body is not valid JSON"
}

// protojson's errors: "proto: (line 1:62): invalid value for string field cpf: 123".
// The space after "proto:" may be a no-break space.
var (
	protoJSONError = regexp.MustCompile(`^proto:[\s\x{00a0}]*\(line (\d+):(\d+)\): (.*)$`)
	invalidValue   = regexp.MustCompile(`^invalid value for (\S+) (?:field|type) (\S+): (.*)$`)
	invalidWKT     = regexp.MustCompile(`^invalid (google\.protobuf\.\w+) value (.*)$`)
	unknownField   = regexp.MustCompile(`^unknown field "?([^"]*)"?$`)
	duplicateField = regexp.MustCompile(`^duplicate field "?([^"]*)"?$`)
)

// expected says what a JSON value of a proto kind looks like.
var expected = map[string]string{
	"string": "a string", "bool": "true or false", "bytes": "a base64 string",
	"int32": "an integer", "int64": "an integer (a number or a string of digits)",
	"uint32": "a non-negative integer", "uint64": "a non-negative integer (a number or a string of digits)",
	"sint32": "an integer", "sint64": "an integer", "fixed32": "an integer", "fixed64": "an integer",
	"sfixed32": "an integer", "sfixed64": "an integer",
	"float": "a number", "double": "a number", "enum": "one of the enum's names (a string)",
	"message": "an object", "google.protobuf.Timestamp": "an RFC 3339 time, e.g. \"2026-12-01T14:30:00Z\"",
	"google.protobuf.Duration": "a duration in seconds, e.g. \"90s\"", "google.protobuf.FieldMask": "comma-separated field names, e.g. \"title,groupId\"",
}

// protoJSONMessage describes a JSON body that is not the request's JSON form, and the
// field it concerns ("" when unknown). raw is the whole body; the value protojson read
// starts at byte start.
func protoJSONMessage(raw []byte, start int, err error) (msg, field string) {
	m := protoJSONError.FindStringSubmatch(err.Error())
	if m == nil {
		return "the request body is not the JSON form of this request", ""
	}
	l, _ := strconv.Atoi(m[1])
	c, _ := strconv.Atoi(m[2])
	off := start + offset(raw[start:], l, c)
	line, col := position(raw, off)
	where, detail := at(line, col), m[3]
	if u := unknownField.FindStringSubmatch(detail); u != nil {
		return "unknown field " + strconv.Quote(u[1]) + " at " + where + ": this request has no such field (names are lowerCamelCase, as in /openapi.json)", u[1]
	}
	if u := duplicateField.FindStringSubmatch(detail); u != nil {
		return "field " + strconv.Quote(u[1]) + " is given twice (at " + where + ")", u[1]
	}
	if u := invalidValue.FindStringSubmatch(detail); u != nil {
		field = u[2]
		if k := keyBefore(raw, off); k != "" {
			field = k
		}
		want := expected[u[1]]
		if want == "" {
			want = "a value of type " + u[1]
		}
		return "field " + strconv.Quote(field) + " at " + where + " must be " + want + ", not " + u[3], field
	}
	if u := invalidWKT.FindStringSubmatch(detail); u != nil {
		field = keyBefore(raw, off)
		name := "the value"
		if field != "" {
			name = "field " + strconv.Quote(field)
		}
		return name + " at " + where + " must be " + expected[u[1]] + ", not " + u[2], field
	}
	field = keyBefore(raw, off)
	if field != "" {
		return "field " + strconv.Quote(field) + " at " + where + " cannot be read: " + detail, field
	}
	return "the request body cannot be read at " + where + ": " + detail, ""
}

// keyBefore is the object key whose value starts at off ("" when off is not a value).
func keyBefore(raw []byte, off int) string {
	i := min(off, len(raw)) - 1
	for i >= 0 && isSpace(raw[i]) {
		i--
	}
	if i < 0 || raw[i] != ':' {
		return ""
	}
	i--
	for i >= 0 && isSpace(raw[i]) {
		i--
	}
	if i < 0 || raw[i] != '"' {
		return ""
	}
	end := i
	for i--; i >= 0; i-- {
		if raw[i] == '"' && (i == 0 || raw[i-1] != '\\') {
			var k string
			if json.Unmarshal(raw[i:end+1], &k) == nil {
				return k
			}
			return ""
		}
	}
	return ""
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// offset is the byte offset of 1-based line and column (in bytes) in b.
func offset(b []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return min(off+max(col-1, 0), len(b))
}

// position is the 1-based line and column of byte offset off in b.
func position(b []byte, off int) (line, col int) {
	off = min(max(off, 0), len(b))
	line = 1 + bytes.Count(b[:off], []byte("\n"))
	return line, off - (bytes.LastIndexByte(b[:off], '\n') + 1) + 1
}

func at(line, col int) string {
	return "line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col)
}
