package mtls

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"time"
)

// Public is the certificate of a public listener (the REST edge): one that browsers
// and apps trust, from a public CA, with no service name and no client certificates.
// Like a Source, it is reloaded when its files change.
type Public struct {
	*watched[*tls.Certificate]
}

// OpenPublic loads a certificate (then any intermediates) and its key; it fails when
// the key does not match or the certificate is not valid now.
func OpenPublic(certFile, keyFile string, log *slog.Logger) (*Public, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("mtls: a certificate and its key are both needed")
	}
	w, err := watch(log, func(raw [][]byte, now time.Time) (*tls.Certificate, error) {
		return keyPair(raw[0], raw[1], certFile, keyFile, now)
	}, certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &Public{w}, nil
}

// ServerTLS is the configuration of the public listener: TLS 1.2 or later (the
// clients of a public API are not all recent), HTTP/2 then HTTP/1.1 by ALPN, and the
// current certificate.
func (p *Public) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return p.current(), nil
		},
	}
}
