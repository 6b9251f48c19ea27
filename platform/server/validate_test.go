package server

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	keysv1 "healthcore/gen/healthcore/keys/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
)

func TestViolations_MapGoFieldNamesToProtoPaths(t *testing.T) {
	tests := []struct {
		name string
		msg  interface {
			proto.Message
			ValidateAll() error
		}
		want []string // "path: description", sorted
	}{
		{
			name: "snake_case fields",
			msg: &identityv1.RegisterPatientRequest{
				Name: "M", Email: "not-an-email", Cpf: "123", Password: "short",
				Phone: "11987654321", BirthDate: "12/04/1985",
			},
			want: []string{
				"birth_date: value does not match regex pattern \"^[0-9]{4}-[0-9]{2}-[0-9]{2}$\"",
				"cpf: value does not match regex pattern \"^[0-9]{3}\\\\.?[0-9]{3}\\\\.?[0-9]{3}-?[0-9]{2}$\"",
				"email: value must be a valid email address",
				"name: value length must be between 2 and 200 runes, inclusive",
				"password: value length must be between 12 and 128 runes, inclusive",
				"phone: value does not match regex pattern \"^\\\\+[1-9][0-9]{7,14}$\"",
			},
		},
		{
			name: "nested message fields get a dotted path",
			msg: &identityv1.RegisterDoctorRequest{
				Name: "Dr. João", Crm: &identityv1.Crm{Number: "12a", Uf: "XX"}, Email: "doc@clinica.com.br", Password: "long enough pw",
			},
			want: []string{
				"crm.number: value does not match regex pattern \"^[0-9]{1,8}$\"",
				"crm.uf: value must be in list [AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO]",
			},
		},
		{
			name: "a missing required message is named itself",
			msg:  &identityv1.RegisterDoctorRequest{Name: "Dr. João", Email: "doc@clinica.com.br", Password: "long enough pw"},
			want: []string{"crm: value is required"},
		},
		{
			name: "a missing required oneof is named by the oneof",
			msg:  &identityv1.LoginRequest{},
			want: []string{
				"login: value is required",
				"password: value length must be between 1 and 128 runes, inclusive",
			},
		},
		{
			name: "a oneof member is named by its field",
			msg:  &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Cpf{Cpf: "abc"}, Password: "x"},
			want: []string{"cpf: value does not match regex pattern \"^[0-9]{3}\\\\.?[0-9]{3}\\\\.?[0-9]{3}-?[0-9]{2}$\""},
		},
		{
			name: "a message inside a oneof gets a dotted path",
			msg:  &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: "123", Uf: "ZZ"}}, Password: "x"},
			want: []string{"crm.uf: value must be in list [AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO]"},
		},
		{
			name: "map keys and values are indexed by the key",
			msg: &keysv1.EncryptRequest{
				KeyId:             strings.Repeat("k", 257),
				EncryptionContext: map[string]string{"": "v", "doc": strings.Repeat("v", 257)},
			},
			want: []string{
				"encryption_context[]: value length must be between 1 and 128 runes, inclusive",
				"encryption_context[doc]: value length must be at most 256 runes",
				"key_id: value length must be at most 256 runes",
				"plaintext: value length must be between 1 and 4096 bytes, inclusive",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.msg.ValidateAll()
			if err == nil {
				t.Fatal("ValidateAll found nothing wrong; the case is broken")
			}
			var got []string
			for _, v := range violations(err, tt.msg.ProtoReflect().Descriptor(), "") {
				got = append(got, v.Field+": "+v.Description)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidate_ReturnsInvalidArgumentListingEveryViolation(t *testing.T) {
	err := Validate(&identityv1.RegisterDoctorRequest{Name: "D", Crm: &identityv1.Crm{Number: "1", Uf: "XX"}, Email: "x", Password: "p"})
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("Validate returned %T %v, want *errs.Error", err, err)
	}
	if e.Code != connect.CodeInvalidArgument || e.Reason != ReasonValidationFailed {
		t.Errorf("code %v reason %q, want invalid_argument VALIDATION_FAILED", e.Code, e.Reason)
	}
	var fields []string
	for _, v := range e.Violations {
		fields = append(fields, v.Field)
		if !strings.Contains(e.Message, v.Field+": "+v.Description) {
			t.Errorf("message %q does not name %s", e.Message, v.Field)
		}
	}
	slices.Sort(fields)
	if want := []string{"crm.uf", "email", "name", "password"}; !slices.Equal(fields, want) {
		t.Errorf("fields %q, want %q", fields, want)
	}
}

func TestValidate_ValidOrRulelessMessagesPass(t *testing.T) {
	for _, msg := range []any{
		&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: "a@b.com.br"}, Password: "x"},
		&identityv1.GetMeRequest{},
		"not a message",
	} {
		if err := Validate(msg); err != nil {
			t.Errorf("Validate(%T) = %v, want nil", msg, err)
		}
	}
}

func TestGoCamelCase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"name", "Name"},
		{"birth_date", "BirthDate"},
		{"encryption_context", "EncryptionContext"},
		{"ciphertext_blob", "CiphertextBlob"},
		{"access_token_expire_time", "AccessTokenExpireTime"},
		{"x509_cert", "X509Cert"},
		{"v2", "V2"},
		{"ipv6_address", "Ipv6Address"},
		{"address_line_1", "AddressLine_1"},
		{"field_2b", "Field_2B"},
		{"_private", "XPrivate"},
		{"double__underscore", "Double_Underscore"},
		{"trailing_", "Trailing_"},
		{"camelCase", "CamelCase"},
		{"snake_Upper", "Snake_Upper"},
		{"HTTPHeader", "HTTPHeader"},
		{"a_b_c", "ABC"},
	}
	for _, tt := range tests {
		if got := goCamelCase(tt.in); got != tt.want {
			t.Errorf("goCamelCase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestGoCamelCase_MatchesGeneratedStructs checks the naming against what protoc-gen-go
// really generated, for every field and oneof of our protos and of descriptor.proto.
func TestGoCamelCase_MatchesGeneratedStructs(t *testing.T) {
	files := []protoreflect.FileDescriptor{
		identityv1.File_healthcore_identity_v1_identity_proto,
		keysv1.File_healthcore_keys_v1_keys_proto,
		descriptorpb.File_google_protobuf_descriptor_proto,
	}
	checked := 0
	var walk func(protoreflect.MessageDescriptors)
	walk = func(mds protoreflect.MessageDescriptors) {
		for i := 0; i < mds.Len(); i++ {
			md := mds.Get(i)
			walk(md.Messages())
			if md.IsMapEntry() {
				continue
			}
			mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
			if err != nil {
				t.Fatalf("%s: %v", md.FullName(), err)
			}
			st := reflect.TypeOf(mt.Zero().Interface()).Elem()
			for j := 0; j < st.NumField(); j++ {
				f := st.Field(j)
				name := f.Tag.Get("protobuf_oneof")
				if tag := f.Tag.Get("protobuf"); tag != "" {
					for part := range strings.SplitSeq(tag, ",") {
						if n, ok := strings.CutPrefix(part, "name="); ok {
							name = n
						}
					}
				}
				if name == "" {
					continue
				}
				checked++
				if got := goCamelCase(name); got != f.Name {
					t.Errorf("%s: goCamelCase(%q) = %q, protoc-gen-go named it %q", md.FullName(), name, got, f.Name)
				}
			}
		}
	}
	for _, fd := range files {
		walk(fd.Messages())
	}
	if checked < 100 {
		t.Errorf("checked only %d fields; the walk is broken", checked)
	}
}

func TestNormalizeMasks_JSONNamesBecomeProtoNames(t *testing.T) {
	req := &recordsv1.UpdateDocumentRequest{UpdateMask: &fieldmaskpb.FieldMask{
		Paths: []string{"groupId", "group_id", "title", "documentId", "sizeBytes", "no_such.field"},
	}}
	normalizeMasks(req)
	want := []string{"group_id", "group_id", "title", "document_id", "sizeBytes", "no_such.field"}
	if got := req.GetUpdateMask().GetPaths(); !slices.Equal(got, want) {
		t.Errorf("paths %q, want %q", got, want)
	}
	normalizeMasks(&recordsv1.UpdateDocumentRequest{}) // no mask: nothing to do, no panic
}
