package authn

import (
	"context"
	"net/http"
	"testing"

	accessv1 "healthcore/gen/healthcore/access/v1"
	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/platform/errs"
)

// A process serving several services presents one certificate naming them all: the
// callee takes it as whichever of them may call, and refuses it by its first name when
// none may.
func TestInterceptor_ACertificateNamingSeveralServicesCallsAsTheOneListed(t *testing.T) {
	v, _ := newVerifier(&jwks{})
	ic := NewInterceptor(v, nil)
	decrypt := keysv1.File_healthcore_keys_v1_keys_proto.Services().ByName("KeysService").Methods().ByName("Decrypt")

	ctx, err := ic.authenticate(WithPeerService(context.Background(), "blobs", "records"), spec(decrypt), http.Header{})
	wantStatus(t, err, errs.Reason{})
	if p, _ := FromContext(ctx); p.Role != accessv1.Role_ROLE_SERVICE || p.Service != "records" {
		t.Errorf("principal = %+v, want the service records", p)
	}
	_, err = ic.authenticate(WithPeerService(context.Background(), "blobs", "meetings"), spec(decrypt), http.Header{})
	wantStatus(t, err, ReasonCallerNotAllowed)
}
