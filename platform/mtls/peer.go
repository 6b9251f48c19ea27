package mtls

import (
	"net/http"

	"healthcore/platform/authn"
)

// PeerServices returns the services named by the client certificate the listener
// verified for r's connection (nil when the client sent none, or the connection is not
// TLS). Only a verified chain counts: a certificate is never believed for what it says
// alone.
func PeerServices(r *http.Request) []string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return Services(r.TLS.VerifiedChains[0][0])
}

// Middleware records the service the verified client certificate names
// (authn.WithPeerService), for the authentication interceptor to find. It goes in front
// of a TLS listener's handler; a request whose connection proved no service passes
// through unchanged. A certificate naming several services (a process serving them
// all) records them all: the callee accepts whichever of them it lets call.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if names := PeerServices(r); len(names) > 0 {
			r = r.WithContext(authn.WithPeerService(r.Context(), names...))
		}
		next.ServeHTTP(w, r)
	})
}
