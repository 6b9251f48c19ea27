package authn

import (
	"fmt"
	"slices"
	"strings"

	accessv1 "healthcore/gen/healthcore/access/v1"
)

// PartnerScopes is the fixed set of scopes a partner client is granted from, each
// naming what a clinic's system may do through the methods whose access rule lists it
// (the README's "Partner API" has the table).
var PartnerScopes = []string{
	"directory.read",      // search the directory, read a doctor's profile
	"agenda.read",         // read the availability and agenda of its doctors
	"agenda.write",        // manage the availability of its doctors
	"appointments.read",   // read its doctors' appointments (times, states, first names)
	"appointments.answer", // accept or refuse them, where the doctor delegated it
	"events.manage",       // register the endpoints that receive its events
}

var (
	errPartnerNotAllowed = ReasonPartnerNotAllowed.New("partner clients may not make this call")
)

// PartnerAllowed admits a partner client's token to a method whose rule lists partner
// scopes it holds one of; every other method refuses it (the interceptor, and the
// partner edge before it forwards a call).
func PartnerAllowed(rule *accessv1.Rule, p Principal, procedure string) error {
	want := rule.GetPartner().GetScopes()
	if rule.GetPartner() == nil || len(want) == 0 {
		return errPartnerNotAllowed
	}
	for _, s := range p.Scopes {
		if slices.Contains(want, s) {
			return nil
		}
	}
	return ReasonScopeMissing.New(fmt.Sprintf("%s needs a token with the scope %s: ask for it at /oauth/token (the client must hold it)",
		procedure, strings.Join(want, " or ")))
}
