package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"healthcore/platform/authn"
)

// Files names the PEM files of a process's TLS material.
type Files struct {
	Cert string // the process's certificate (then any intermediates)
	Key  string // its private key
	CA   string // the CA certificate(s) peers' certificates must chain to
}

// Source holds a process's TLS material and reloads it when its files change: a
// certificate renewed on disk (by cert-manager, a mesh agent or an operator) is served
// to the next connection, with no restart. A replacement that does not load (a key
// that does not match, a certificate that does not chain to the CA, a file caught half
// written) is logged and the material in use is kept.
type Source struct {
	*watched[*material]
}

// material is one loaded set of files.
type material struct {
	cert     *tls.Certificate
	roots    *x509.CertPool
	services []string // the services the certificate names
}

// Open loads the files; it fails when they do not make a usable set: the key matches
// the certificate, the certificate is valid now, chains to the CA and names at least
// one service.
func Open(files Files, log *slog.Logger) (*Source, error) {
	if files.Cert == "" || files.Key == "" || files.CA == "" {
		return nil, errors.New("mtls: a certificate, its key and the CA are all needed")
	}
	w, err := watch(log, func(raw [][]byte, now time.Time) (*material, error) {
		return parse(raw[0], raw[1], raw[2], files, now)
	}, files.Cert, files.Key, files.CA)
	if err != nil {
		return nil, err
	}
	return &Source{w}, nil
}

// Services returns the services the process's certificate names.
func (s *Source) Services() []string { return s.current().services }

func parse(certPEM, keyPEM, caPEM []byte, f Files, now time.Time) (*material, error) {
	cert, err := keyPair(certPEM, keyPEM, f.Cert, f.Key, now)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("mtls: %s holds no PEM certificate", f.CA)
	}
	inter := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("mtls: %s: %w", f.Cert, err)
		}
		inter.AddCert(c)
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, fmt.Errorf("mtls: %s does not chain to %s: %w", f.Cert, f.CA, err)
	}
	services := Services(cert.Leaf)
	if len(services) == 0 {
		return nil, fmt.Errorf("mtls: %s names no service (no URI SAN %s<service>)", f.Cert, authn.SPIFFEPrefix)
	}
	return &material{cert: cert, roots: roots, services: services}, nil
}

// keyPair parses a certificate and its key and checks the certificate is valid now.
func keyPair(certPEM, keyPEM []byte, certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("mtls: %s and %s: %w", certFile, keyFile, err)
	}
	if now.Before(cert.Leaf.NotBefore) || now.After(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("mtls: %s is valid from %s to %s only", certFile, cert.Leaf.NotBefore, cert.Leaf.NotAfter)
	}
	return &cert, nil
}

// Services returns the services a certificate names: the <service> of each of its URI
// SANs spiffe://healthcore/<service>.
func Services(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.URIs {
		if name, ok := strings.CutPrefix(u.String(), authn.SPIFFEPrefix); ok && validName(name) {
			out = append(out, name)
		}
	}
	return out
}

// validName tells whether name can be a service's: lower-case letters, digits and
// dashes, starting with a letter.
func validName(name string) bool {
	if name == "" || len(name) > 63 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}
