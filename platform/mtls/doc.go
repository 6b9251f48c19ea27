// Package mtls is the production transport of service identity: TLS 1.3 between every
// pair of Healthcore processes, each presenting a certificate whose URI SAN
// spiffe://healthcore/<service> names it (as cert-manager or a mesh issues them). A
// Source loads the process's certificate, key and CA from PEM files and picks up
// replacements on disk without a restart; it makes the server and client TLS
// configurations, and Middleware tells the authentication interceptor which service
// the verified client certificate names. WriteDevCerts makes a local CA and
// certificates so the same path runs on a laptop.
package mtls
