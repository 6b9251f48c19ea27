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
				method("InternalOrDoctors", &accessv1.Rule{Internal: &accessv1.Internal{Callers: []string{"records"}}, Roles: doctorRole}),
				method("NoRule", nil),
				method("PatientsOrDoctorsWithMFA", &accessv1.Rule{Roles: []accessv1.Role{accessv1.Role_ROLE_PATIENT, accessv1.Role_ROLE_DOCTOR},
					MfaRoles: doctorRole}),
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
// and no principal when an anonymous call is let through; the service for a service).
type outcome struct {
	reason  errs.Reason
	role    accessv1.Role
	service string
}

var (
	anonymous   = outcome{}
	asPatient   = outcome{role: accessv1.Role_ROLE_PATIENT}
	asDoctor    = outcome{role: accessv1.Role_ROLE_DOCTOR}
	asAdmin     = outcome{role: accessv1.Role_ROLE_ADMIN}
	asRecords   = outcome{role: accessv1.Role_ROLE_SERVICE, service: "records"}
	missing     = outcome{reason: ReasonTokenMissing}
	invalid     = outcome{reason: ReasonTokenInvalid}
	badService  = outcome{reason: ReasonServiceTokenInvalid}
	wrongRole   = outcome{reason: ReasonRoleNotAllowed}
	serviceOnly = outcome{reason: ReasonServiceOnly}
	notAllowed  = outcome{reason: ReasonCallerNotAllowed}
	noRule      = outcome{reason: errs.ReasonInternal}
	mfaRequired = outcome{reason: ReasonMFARequired}
)

// testServices are the service keys of the interceptor tests: records and payments
// call keys.
func testServices(t testing.TB) *ServiceKeys {
	t.Helper()
	k, err := GenerateServiceKeys([]string{"keys", "records", "payments"})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// serviceToken mints caller's token for callee at the wall clock.
func serviceToken(t testing.TB, k *ServiceKeys, caller, callee string) string {
	t.Helper()
	token, _, err := k.MintServiceToken(caller, callee, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestInterceptor_AuthorizationMatrix(t *testing.T) {
	key, pub := newKey(t, "k1")
	stranger, _ := newKey(t, "k2")
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub}})
	services := testServices(t)
	// The interceptor of the keys service (the synthetic methods stand in for some of its).
	ic := NewInterceptor(v, services.Verifier("keys"))

	identity := identityv1.File_healthcore_identity_v1_identity_proto.Services().ByName("IdentityService").Methods()
	keys := keysv1.File_healthcore_keys_v1_keys_proto.Services().ByName("KeysService").Methods()
	synthetic := shapes(t).Methods()

	callers := []struct {
		name   string
		header string
		peer   string // the service the connection's certificate names
	}{
		{"no token", "", ""},
		{"bad token", "Bearer " + sign(t, stranger, admin), ""},
		{"patient", "Bearer " + sign(t, key, patient), ""},
		{"doctor", "Bearer " + sign(t, key, doctor), ""},
		{"admin", "Bearer " + sign(t, key, admin), ""},
		{"records' token", "Bearer " + serviceToken(t, services, "records", "keys"), ""},
		{"not a token", "Bearer not-the-service-token", ""},
		{"payments' token", "Bearer " + serviceToken(t, services, "payments", "keys"), ""},
		{"records' certificate", "", "records"},
		{"payments' certificate", "", "payments"},
	}
	rules := []struct {
		name   string
		method protoreflect.MethodDescriptor
		want   []outcome // one per caller, in order
	}{
		{"public (RegisterPatient)", identity.ByName("RegisterPatient"),
			[]outcome{anonymous, anonymous, asPatient, asDoctor, asAdmin, anonymous, anonymous, anonymous, anonymous, anonymous}},
		{"roles [doctor]", synthetic.ByName("DoctorsOnly"),
			[]outcome{missing, invalid, wrongRole, asDoctor, wrongRole, invalid, invalid, invalid, missing, missing}},
		{"roles [patient, doctor, admin] (GetMe)", identity.ByName("GetMe"),
			[]outcome{missing, invalid, asPatient, asDoctor, asAdmin, invalid, invalid, invalid, missing, missing}},
		// The admin's token proved a password alone.
		{"roles [admin], mfa_roles [admin] (RotateSigningKey)", identity.ByName("RotateSigningKey"),
			[]outcome{missing, invalid, wrongRole, wrongRole, mfaRequired, invalid, invalid, invalid, missing, missing}},
		{"internal [identity, records, scheduling] (Decrypt)", keys.ByName("Decrypt"),
			[]outcome{missing, invalid, serviceOnly, serviceOnly, serviceOnly, asRecords, badService, notAllowed, asRecords, notAllowed}},
		// A certificate not listed on a method users may call is an edge passing a
		// user's call on: without the user's token, the token is what is missing.
		{"internal [records] + roles [doctor]", synthetic.ByName("InternalOrDoctors"),
			[]outcome{missing, invalid, wrongRole, asDoctor, wrongRole, asRecords, invalid, notAllowed, asRecords, missing}},
		{"no rule", synthetic.ByName("NoRule"),
			[]outcome{noRule, noRule, noRule, noRule, noRule, noRule, noRule, noRule, noRule, noRule}},
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
				ctx := context.Background()
				if c.peer != "" {
					ctx = WithPeerService(ctx, c.peer)
				}
				ctx, err := ic.authenticate(ctx, spec(r.method), h)
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
				case p.Service != want.service:
					t.Errorf("principal names service %q, want %q", p.Service, want.service)
				case want.role == accessv1.Role_ROLE_SERVICE && p.UserID != "":
					t.Errorf("service principal names user %q", p.UserID)
				}
			})
		}
	}
}

func TestInterceptor_MFARolesNeedASecondFactorOfThoseRolesOnly(t *testing.T) {
	key, pub := newKey(t, "k1")
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub}})
	ic := NewInterceptor(v, testServices(t).Verifier("records"))
	method := shapes(t).Methods().ByName("PatientsOrDoctorsWithMFA")
	with := func(p Principal, amr ...string) Principal {
		p.AMR = amr
		return p
	}
	tests := []struct {
		name string
		p    Principal
		want outcome
	}{
		{"doctor, password only", with(doctor, "pwd"), mfaRequired},
		{"doctor, no amr at all", doctor, mfaRequired},
		{"doctor, password and TOTP", with(doctor, "pwd", "otp"), asDoctor},
		{"doctor, password and a passkey", with(doctor, "pwd", "hwk"), asDoctor},
		{"patient, password only", with(patient, "pwd"), asPatient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Authorization", "Bearer "+sign(t, key, tt.p))
			ctx, err := ic.authenticate(context.Background(), spec(method), h)
			wantStatus(t, err, tt.want.reason)
			if got, ok := FromContext(ctx); err == nil && (!ok || got.Role != tt.want.role) {
				t.Errorf("principal = %+v, want role %v", got, tt.want.role)
			}
		})
	}
}

func TestInterceptor_PrincipalNamesTheTokensUser(t *testing.T) {
	key, pub := newKey(t, "k1")
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub}})
	ic := NewInterceptor(v, testServices(t).Verifier("identity"))
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

func TestInterceptor_WithoutServiceVerifierAdmitsServicesByCertificateOnly(t *testing.T) {
	v, _ := newVerifier(&jwks{})
	ic := NewInterceptor(v, nil)
	decrypt := keysv1.File_healthcore_keys_v1_keys_proto.Services().ByName("KeysService").Methods().ByName("Decrypt")
	token := serviceToken(t, testServices(t), "records", "keys")
	for _, header := range []string{"Bearer " + token, "Bearer  "} {
		_, err := ic.authenticate(context.Background(), spec(decrypt), http.Header{"Authorization": {header}})
		if err == nil {
			t.Errorf("%q admitted to an internal method with no service verifier", header)
		}
	}
	_, err := ic.authenticate(context.Background(), spec(decrypt), http.Header{"Authorization": {"Bearer " + token}})
	wantStatus(t, err, ReasonServiceTokenInvalid)
	ctx, err := ic.authenticate(WithPeerService(context.Background(), "records"), spec(decrypt), http.Header{})
	wantStatus(t, err, errs.Reason{})
	if p, _ := FromContext(ctx); p.Role != accessv1.Role_ROLE_SERVICE || p.Service != "records" {
		t.Errorf("principal = %+v, want the service records", p)
	}
}

func TestInterceptor_RejectedTokenOnPublicMethodIsIgnoredNotFatal(t *testing.T) {
	key, pub := newKey(t, "k1")
	v, clk := newVerifier(&jwks{keys: []PublicKey{pub}})
	ic := NewInterceptor(v, testServices(t).Verifier("identity"))
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
