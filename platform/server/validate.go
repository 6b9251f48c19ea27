package server

import (
	"context"
	"errors"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"healthcore/platform/errs"
)

// validator runs the protoc-gen-validate rules of every request message (ValidateAll)
// and the rules every request's strings and floats follow (no control characters, no
// blank names, no NaN or infinity), and answers INVALID_ARGUMENT listing every
// violation, with proto field paths. It first turns the JSON names in a request's
// field masks into proto names (normalizeMasks).
type validator struct{}

type validatable interface{ ValidateAll() error }

func (validator) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		normalizeMasks(req.Any())
		if err := Validate(req.Any()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (validator) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (validator) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return next(ctx, validatingConn{conn})
	}
}

// validatingConn validates every message a streaming handler receives.
type validatingConn struct{ connect.StreamingHandlerConn }

func (c validatingConn) Receive(m any) error {
	if err := c.StreamingHandlerConn.Receive(m); err != nil {
		return err
	}
	normalizeMasks(m)
	return Validate(m)
}

// Validate checks msg's validation rules, and the rules every request's text and
// numbers follow (textViolations), and returns an *errs.Error (INVALID_ARGUMENT,
// reason VALIDATION_FAILED) naming every violated field, or nil.
func Validate(msg any) error {
	var vs []errs.Violation
	var md protoreflect.MessageDescriptor
	if pm, ok := msg.(proto.Message); ok {
		md = pm.ProtoReflect().Descriptor()
		vs = textViolations(pm.ProtoReflect(), "")
	}
	if v, ok := msg.(validatable); ok {
		if err := v.ValidateAll(); err != nil {
			vs = append(vs, violations(err, md, "")...)
		}
	}
	if len(vs) == 0 {
		return nil
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Field + ": " + v.Description
	}
	return ReasonValidationFailed.New("invalid request: " + strings.Join(parts, "; ")).WithViolations(vs...)
}

// pgvError is the shape of every protoc-gen-validate error type.
type pgvError interface {
	Field() string
	Reason() string
	Cause() error
}

type multiError interface{ AllErrors() []error }

// violations flattens protoc-gen-validate errors, whose fields carry Go names
// ("BirthDate", "EncryptionContext[k]") and whose causes nest, into proto paths
// ("birth_date", "encryption_context[k]", "crm.uf").
func violations(err error, md protoreflect.MessageDescriptor, prefix string) []errs.Violation {
	if m, ok := err.(multiError); ok {
		var out []errs.Violation
		for _, e := range m.AllErrors() {
			out = append(out, violations(e, md, prefix)...)
		}
		return out
	}
	var pe pgvError
	if !errors.As(err, &pe) {
		return []errs.Violation{{Field: strings.TrimSuffix(prefix, "."), Description: err.Error()}}
	}
	goName, index := pe.Field(), ""
	if i := strings.IndexByte(goName, '['); i >= 0 {
		goName, index = goName[:i], goName[i:]
	}
	name, fd := protoName(md, goName)
	path := prefix + name + index
	if c := pe.Cause(); c != nil && fd != nil && fd.Message() != nil && !fd.IsMap() {
		if _, nested := c.(pgvError); nested {
			return violations(c, fd.Message(), path+".")
		}
		if _, nested := c.(multiError); nested {
			return violations(c, fd.Message(), path+".")
		}
	}
	return []errs.Violation{{Field: path, Description: pe.Reason()}}
}

// protoName finds the field or oneof of md whose Go name is goName.
func protoName(md protoreflect.MessageDescriptor, goName string) (string, protoreflect.FieldDescriptor) {
	if md == nil {
		return goName, nil
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); goCamelCase(string(fd.Name())) == goName {
			return string(fd.Name()), fd
		}
	}
	oneofs := md.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		if od := oneofs.Get(i); goCamelCase(string(od.Name())) == goName {
			return string(od.Name()), nil
		}
	}
	return goName, nil
}

// goCamelCase is protoc-gen-go's naming of proto identifiers (its strs.GoCamelCase),
// which protoc-gen-validate follows too: "birth_date" → "BirthDate", "line_1" →
// "Line_1", "_id" → "XId". It must match exactly, or a violation is reported under its
// Go name.
func goCamelCase(s string) string {
	isLower := func(c byte) bool { return 'a' <= c && c <= 'z' }
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && i+1 < len(s) && isLower(s[i+1]):
			// ".x" joins words.
		case c == '.':
			b = append(b, '_')
		case c == '_' && (i == 0 || s[i-1] == '.'):
			b = append(b, 'X') // an identifier must start with a capital
		case c == '_' && i+1 < len(s) && isLower(s[i+1]):
			// "_x" joins words.
		case '0' <= c && c <= '9':
			b = append(b, c)
		default:
			// A word: its first letter upper-cased, then the lower-case run after it.
			if isLower(c) {
				c -= 'a' - 'A'
			}
			b = append(b, c)
			for ; i+1 < len(s) && isLower(s[i+1]); i++ {
				b = append(b, s[i+1])
			}
		}
	}
	return string(b)
}
