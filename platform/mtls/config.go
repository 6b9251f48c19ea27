package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"healthcore/platform/authn"
)

// ServerTLS is the configuration of a listener: TLS 1.3 only, HTTP/2 (then HTTP/1.1)
// by ALPN, the current certificate, and a client certificate verified against the
// current CA when one is sent. A client without a certificate still connects (health
// probes, user calls through the gateway): it just names no service. A certificate
// from another CA fails the handshake.
func (s *Source) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Built per handshake so that a reloaded certificate and CA apply to the next
		// connection.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := s.current()
			return &tls.Config{
				MinVersion:   tls.VersionTLS13,
				Certificates: []tls.Certificate{*m.cert},
				ClientAuth:   tls.VerifyClientCertIfGiven,
				ClientCAs:    m.roots,
				NextProtos:   []string{"h2", "http/1.1"},
			}, nil
		},
	}
}

// ClientTLS is the configuration of connections to callee: TLS 1.3 only, HTTP/2 by
// ALPN, the process's current certificate presented, and the server accepted only if
// its certificate chains to the current CA and names callee (URI SAN
// spiffe://healthcore/<callee>). The host name dialed plays no part: a service is
// known by its name, not by where it was reached.
func (s *Source) ClientTLS(callee string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"h2"},
		// The standard check compares the host name dialed with the certificate's DNS
		// names; VerifyConnection replaces it with the chain to the CA and the
		// callee's SPIFFE name, so it is switched off, not skipped.
		InsecureSkipVerify: true,
		VerifyConnection:   func(cs tls.ConnectionState) error { return s.verifyServer(cs, callee) },
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return s.current().cert, nil
		},
	}
}

func (s *Source) verifyServer(cs tls.ConnectionState, callee string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("mtls: the server sent no certificate")
	}
	m := s.current()
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: m.roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return fmt.Errorf("mtls: the %s server's certificate: %w", callee, err)
	}
	if got := Services(leaf); !slices.Contains(got, callee) {
		return fmt.Errorf("mtls: expected the %s service (%s%s), the server's certificate names %v",
			callee, authn.SPIFFEPrefix, callee, got)
	}
	return nil
}
