package catalog

import (
	"slices"
	"testing"

	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

// TestListRevokedSessions_EveryOtherServiceMayAsk: each service verifies user tokens
// itself and polls identity for the sessions that ended; one left off the callers
// would refuse every user token (REVOKED_SESSIONS_UNAVAILABLE) once it runs in its
// own process.
func TestListRevokedSessions_EveryOtherServiceMayAsk(t *testing.T) {
	for _, md := range testkit.RPCs() {
		if "/"+string(md.Parent().FullName())+"/"+string(md.Name()) != identityv1connect.IdentityServiceListRevokedSessionsProcedure {
			continue
		}
		callers := authn.RuleOf(md).GetInternal().GetCallers()
		for _, name := range Names() {
			if name != "identity" && !slices.Contains(callers, name) {
				t.Errorf("ListRevokedSessions does not list %s among its callers %v", name, callers)
			}
		}
		return
	}
	t.Fatal("ListRevokedSessions not found among the contracts' RPCs")
}
