package authn

import (
	"context"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/platform/errs"
)

const testServiceToken = "svc-0123456789abcdef0123456789abcdef"

// shapes declares, in a proto file built here, the rule shapes no real RPC has yet.
func shapes(t *testing.T) protoreflect.ServiceDescriptor {
	t.Helper()
	method := func(name string, r *accessv1.Rule) *descriptorpb.MethodDescriptorProto {
		opts := &descriptorpb.MethodOptions{}
		if r != nil {
			proto.SetExtension(opts, accessv1.E_Rule, r)
		}
		return &descriptorpb.MethodDescriptorProto{
			Name: proto.String(name), InputType: proto.String(".authntest.Empty"),
			OutputType: proto.String(".authntest.Empty"), Options: opts,
		}
	}
	doctorRole := []accessv1.Role{accessv1.Role_ROLE_DOCTOR}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("authntest/shapes.proto"), Package: proto.String("authntest"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Empty")}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Shapes"),
			Method: []*descriptorpb.MethodDescriptorProto{
				method("DoctorsOnly", &accessv1.Rule{Roles: doctorRole}),
				method("InternalOrDoctors", &accessv1.Rule{Internal: true, Roles: doctorRole}),
				method("NoRule", nil),
			},
		}},
	}, new(protoregistry.Files))
	if err != nil {
		t.Fatal(err)
	}
	return fd.Services().Get(0)
}

// spec is what connect hands the interceptor for a call of md.
func spec(md protoreflect.MethodDescriptor) connect.Spec {
	return connect.Spec{
		Procedure:  "/" + string(md.Parent().FullName()) + "/" + string(md.Name()),
		Schema:     md,
		StreamType: connect.StreamTypeUnary,
	}
}

// outcome is what the interceptor decides: a refusal, or the caller it names (role 0
// and no principal when an anonymous call is let through).
type outcome struct {
	reason errs.Reason
	role   accessv1.Role
}

var (
	anonymous   = outcome{}
	asPatient   = outcome{role: accessv1.Role_ROLE_PATIENT}
	asDoctor    = outcome{role: accessv1.Role_ROLE_DOCTOR}
	asAdmin     = outcome{role: accessv1.Role_ROLE_ADMIN}
	asService   = outcome{role: accessv1.Role_ROLE_SERVICE}
	missing     = outcome{reason: ReasonTokenMissing}
	invalid     = outcome{reason: ReasonTokenInvalid}
	badService  = outcome{reason: ReasonServiceTokenInvalid}
	wrongRole   = outcome{reason: ReasonRoleNotAllowed}
	serviceOnly = outcome{reason: ReasonServiceOnly}
	noRule      = outcome{reason: errs.ReasonInternal}
)

func TestInterceptor_AuthorizationMatrix(t *testing.T) {
	key, pub := newKey(t, "k1")
	stranger, _ := newKey(t, "k2")
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub}})
	ic := NewInterceptor(v, testServiceToken)

	identity := identityv1.File_healthcore_identity_v1_identity_proto.Services().ByName("IdentityService").Methods()
	keys := keysv1.File_healthcore_keys_v1_keys_proto.Services().ByName("KeysService").Methods()
	synthetic := shapes(t).Methods()

	callers := []struct {
		name   string
		header string
	}{
		{"no token", ""},
		{"bad token", "Bearer " + sign(t, stranger, admin)},
		{"patient", "Bearer " + sign(t, key, patient)},
		{"doctor", "Bearer " + sign(t, key, doctor)},
		{"admin", "Bearer " + sign(t, key, admin)},
		{"service", "Bearer " + testServiceToken},
		{"wrong service token", "Bearer not-the-service-token"},
	}
	rules := []struct {
		name   string
		method protoreflect.MethodDescriptor
		want   []outcome // one per caller, in order
	}{
		{"public (RegisterPatient)", identity.ByName("RegisterPatient"),
			[]outcome{anonymous, anonymous, asPatient, asDoctor, asAdmin, anonymous, anonymous}},
		{"roles [doctor]", synthetic.ByName("DoctorsOnly"),
			[]outcome{missing, invalid, wrongRole, asDoctor, wrongRole, invalid, invalid}},
		{"roles [patient, doctor, admin] (GetMe)", identity.ByName("GetMe"),
			[]outcome{missing, invalid, asPatient, asDoctor, asAdmin, invalid, invalid}},
		{"roles [admin] (RotateSigningKey)", identity.ByName("RotateSigningKey"),
			[]outcome{missing, invalid, wrongRole, wrongRole, asAdmin, invalid, invalid}},
		{"internal (Decrypt)", keys.ByName("Decrypt"),
			[]outcome{missing, invalid, serviceOnly, serviceOnly, serviceOnly, asService, badService}},
		{"internal + roles [doctor]", synthetic.ByName("InternalOrDoctors"),
			[]outcome{missing, invalid, wrongRole, asDoctor, wrongRole, asService, invalid}},
		{"no rule", synthetic.ByName("NoRule"),
			[]outcome{noRule, noRule, noRule, noRule, noRule, noRule, noRule}},
	}
	for _, r := range rules {
		if r.method == nil {
			t.Fatalf("%s: method not found", r.name)
		}
		for i, c := range callers {
			t.Run(r.name+"/"+c.name, func(t *testing.T) {
				h := http.Header{}
				if c.header != "" {
					h.Set("Authorization", c.header)
				}
				ctx, err := ic.authenticate(context.Background(), spec(r.method), h)
				want := r.want[i]
				wantStatus(t, err, want.reason)
				if err != nil {
					if _, ok := FromContext(ctx); ok {
						t.Error("a refused call carries a principal")
					}
					return
				}
				p, ok := FromContext(ctx)
				switch {
				case want.role == accessv1.Role_ROLE_UNSPECIFIED && ok:
					t.Errorf("anonymous call carries principal %+v", p)
				case want.role != accessv1.Role_ROLE_UNSPECIFIED && (!ok || p.Role != want.role):
					t.Errorf("principal = %+v (%v), want role %v", p, ok, want.role)
				case want.role == accessv1.Role_ROLE_SERVICE && p.UserID != "":
					t.Errorf("service principal names user %q", p.UserID)
				}
			})
		}
	}
}

func TestInterceptor_PrincipalNamesTheTokensUser(t *testing.T) {
	key, pub := newKey(t, "k1")
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub}})
	ic := NewInterceptor(v, testServiceToken)
	getMe := identityv1.File_healthcore_identity_v1_identity_proto.Services().ByName("IdentityService").Methods().ByName("GetMe")

	h := http.Header{"Authorization": {"Bearer " + sign(t, key, doctor)}}
	ctx, err := ic.authenticate(context.Background(), spec(getMe), h)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := FromContext(ctx)
	if p.UserID != doctor.UserID || p.CRM != doctor.CRM || p.SessionID != doctor.SessionID || p.TokenID == "" {
		t.Errorf("principal = %+v, want %+v with a token id", p, doctor)
	}
}

func TestInterceptor_WithoutServiceCredentialAdmitsNoService(t *testing.T) {
	v, _ := newVerifier(&jwks{})
	ic := NewInterceptor(v, "")
	decrypt := keysv1.File_healthcore_keys_v1_keys_proto.Services().ByName("KeysService").Methods().ByName("Decrypt")
	for _, header := range []string{"Bearer " + testServiceToken, "Bearer  "} {
		_, err := ic.authenticate(context.Background(), spec(decrypt), http.Header{"Authorization": {header}})
		if err == nil {
			t.Errorf("%q admitted to an internal method with no service credential configured", header)
		}
	}
}

func TestInterceptor_RejectedTokenOnPublicMethodIsIgnoredNotFatal(t *testing.T) {
	key, pub := newKey(t, "k1")
	v, clk := newVerifier(&jwks{keys: []PublicKey{pub}})
	ic := NewInterceptor(v, testServiceToken)
	login := identityv1.File_healthcore_identity_v1_identity_proto.Services().ByName("IdentityService").Methods().ByName("Login")

	expired := sign(t, key, patient)
	clk.Advance(2 * time.Hour) // the token has expired
	ctx, err := ic.authenticate(context.Background(), spec(login), http.Header{"Authorization": {"Bearer " + expired}})
	if err != nil {
		t.Fatalf("an expired token locked the caller out of Login: %v", err)
	}
	if p, ok := FromContext(ctx); ok {
		t.Errorf("an expired token named the caller %+v", p)
	}
}

// streamConn records the request headers of a client stream; the rest of the
// connect.StreamingClientConn interface is never called.
type streamConn struct {
	connect.StreamingClientConn
	header http.Header
}

func (c *streamConn) RequestHeader() http.Header { return c.header }

func TestServiceToken_SetsTheHeaderOnClientStreams(t *testing.T) {
	conn := &streamConn{header: http.Header{}}
	wrapped := ServiceToken(testServiceToken).WrapStreamingClient(func(context.Context, connect.Spec) connect.StreamingClientConn {
		return conn
	})
	wrapped(context.Background(), connect.Spec{IsClient: true, StreamType: connect.StreamTypeServer})
	if got, want := conn.header.Get("Authorization"), "Bearer "+testServiceToken; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
}
