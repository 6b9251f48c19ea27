package authn_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

// partnerRPCs is every method partner clients may call, with the scopes that admit
// them: the README's scopes table. A method marked or unmarked in a proto fails the
// matrix below until it is listed here (and in the README).
var partnerRPCs = map[string][]string{
	"healthcore.directory.v1.DirectoryService.GetDoctor":                 {"directory.read"},
	"healthcore.directory.v1.DirectoryService.SearchDoctors":             {"directory.read"},
	"healthcore.scheduling.v1.SchedulingService.ListAvailableSlots":      {"agenda.read"},
	"healthcore.scheduling.v1.SchedulingService.GetDoctorAvailability":   {"agenda.read"},
	"healthcore.scheduling.v1.SchedulingService.SetDoctorAvailability":   {"agenda.write"},
	"healthcore.scheduling.v1.SchedulingService.GetDoctorAgenda":         {"agenda.read"},
	"healthcore.scheduling.v1.SchedulingService.BlockDoctorSlot":         {"agenda.write"},
	"healthcore.scheduling.v1.SchedulingService.ReopenDoctorSlot":        {"agenda.write"},
	"healthcore.scheduling.v1.SchedulingService.ListDoctorAppointments":  {"appointments.read"},
	"healthcore.scheduling.v1.SchedulingService.GetDoctorAppointment":    {"appointments.read"},
	"healthcore.scheduling.v1.SchedulingService.AcceptDoctorAppointment": {"appointments.answer"},
	"healthcore.scheduling.v1.SchedulingService.RefuseDoctorAppointment": {"appointments.answer"},
}

// partnerKit signs partner tokens and verifies them with an interceptor.
type partnerKit struct {
	t   *testing.T
	key authn.SigningKey
	ic  *authn.Interceptor
}

func newPartnerKit(t *testing.T) partnerKit {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v := authn.NewVerifier(func(context.Context) ([]authn.PublicKey, error) {
		return []authn.PublicKey{{KID: "k1", Key: pub}}, nil
	})
	return partnerKit{t: t, key: authn.SigningKey{KID: "k1", Private: priv}, ic: authn.NewInterceptor(v, nil)}
}

func (k partnerKit) header(p authn.Principal) http.Header {
	k.t.Helper()
	var (
		token string
		err   error
	)
	if p.Role == accessv1.Role_ROLE_PARTNER {
		token, _, err = authn.DefaultTokenProfile.SignPartner(k.key, p, time.Now(), time.Minute)
	} else {
		token, _, err = authn.Sign(k.key, p, time.Now(), time.Minute)
	}
	if err != nil {
		k.t.Fatal(err)
	}
	return http.Header{"Authorization": {"Bearer " + token}}
}

func partner(scopes ...string) authn.Principal {
	return authn.Principal{Role: accessv1.Role_ROLE_PARTNER, ClientID: "0193e4a0-0000-7000-8000-0000000000c1",
		ClinicID: "0193e4a0-0000-7000-8000-0000000000a1", Scopes: scopes, SessionID: "0193e4a0-0000-7000-8000-0000000000e1"}
}

// Every RPC × every scope: a token holding one scope is admitted exactly to the
// methods whose rule lists it; on a method admitting partners by other scopes it is
// SCOPE_MISSING, on every other method (internal, user-only, public without partner)
// PARTNER_NOT_ALLOWED, even with every scope.
func TestPartnerScopes_EachScopeAdmitsExactlyItsRPCs(t *testing.T) {
	k := newPartnerKit(t)
	allScopes := k.header(partner(authn.PartnerScopes...))
	marked := map[string][]string{}
	for _, md := range testkit.RPCs() {
		rule := authn.RuleOf(md)
		name := string(md.FullName())
		if rule.GetPartner() != nil {
			marked[name] = rule.GetPartner().GetScopes()
		}
		for _, scope := range authn.PartnerScopes {
			ctx, err := authn.Authenticate(k.ic, context.Background(), md, k.header(partner(scope)))
			switch {
			case slices.Contains(rule.GetPartner().GetScopes(), scope):
				if err != nil {
					t.Errorf("%s with %s: %v, want admitted", name, scope, err)
					continue
				}
				if p, ok := authn.FromContext(ctx); !ok || p.ClientID == "" || p.ClinicID == "" || p.UserID != "" {
					t.Errorf("%s with %s: principal %+v, want the client and its clinic, no user", name, scope, p)
				}
			case rule.GetPartner() != nil:
				wantRefused(t, name+" with "+scope, err, authn.ReasonScopeMissing)
			default:
				wantRefused(t, name+" with "+scope, err, authn.ReasonPartnerNotAllowed)
			}
		}
		if rule.GetPartner() == nil {
			_, err := authn.Authenticate(k.ic, context.Background(), md, allScopes)
			wantRefused(t, name+" with every scope", err, authn.ReasonPartnerNotAllowed)
		}
	}
	if !maps.EqualFunc(marked, partnerRPCs, slices.Equal) {
		t.Errorf("the RPCs admitting partners are %v, want %v (update partnerRPCs and the README's scopes table)", marked, partnerRPCs)
	}
}

func wantRefused(t *testing.T, call string, err error, r errs.Reason) {
	t.Helper()
	if !errs.Has(err, r) {
		t.Errorf("%s: %v (%s), want %v", call, err, errs.ReasonOf(err), r)
	}
}

// A user's token is unaffected by a method's partner scopes: the rule's roles (or
// public) decide, as before.
func TestPartnerScopes_UserTokensAreUnaffected(t *testing.T) {
	k := newPartnerKit(t)
	patient := k.header(authn.Principal{UserID: "0193e4a0-0000-7000-8000-0000000000b1", Role: accessv1.Role_ROLE_PATIENT, SessionID: "s"})
	for _, md := range testkit.RPCs() {
		rule := authn.RuleOf(md)
		if rule.GetPartner() == nil {
			continue
		}
		_, err := authn.Authenticate(k.ic, context.Background(), md, patient)
		if admitted := rule.GetPublic() || slices.Contains(rule.GetRoles(), accessv1.Role_ROLE_PATIENT); admitted != (err == nil) {
			t.Errorf("%s: a patient's token: %v, want admitted %v", md.FullName(), err, admitted)
		}
	}
}

// A partner token is signed only by SignPartner, and only whole: a client, a clinic,
// scopes and the secret that obtained it (its session, for revocation).
func TestSignPartner_RefusesAnIncompletePrincipal(t *testing.T) {
	k := newPartnerKit(t)
	if _, _, err := authn.Sign(k.key, authn.Principal{UserID: "u", Role: accessv1.Role_ROLE_PARTNER, SessionID: "s"}, time.Now(), time.Minute); err == nil {
		t.Error("Sign signed a partner principal")
	}
	for name, p := range map[string]authn.Principal{
		"no client": func() authn.Principal { p := partner("agenda.read"); p.ClientID = ""; return p }(),
		"no clinic": func() authn.Principal { p := partner("agenda.read"); p.ClinicID = ""; return p }(),
		"no scope":  partner(),
		"no secret": func() authn.Principal { p := partner("agenda.read"); p.SessionID = ""; return p }(),
		"a user":    {UserID: "u", Role: accessv1.Role_ROLE_DOCTOR, SessionID: "s", Scopes: []string{"agenda.read"}, ClinicID: "c", ClientID: "c"},
	} {
		if _, _, err := authn.DefaultTokenProfile.SignPartner(k.key, p, time.Now(), time.Minute); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}
