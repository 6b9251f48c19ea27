package mtls

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"healthcore/platform/authn"
)

// Files names the PEM files of a process's TLS material.
type Files struct {
	Cert string // the process's certificate (then any intermediates)
	Key  string // its private key
	CA   string // the CA certificate(s) peers' certificates must chain to
}

// checkEvery bounds how often the files are read again to look for a replacement.
const checkEvery = 5 * time.Second

// Source holds a process's TLS material and reloads it when its files change: a
// certificate renewed on disk (by cert-manager, a mesh agent or an operator) is served
// to the next connection, with no restart. A replacement that does not load (a key
// that does not match, a certificate that does not chain to the CA, a file caught half
// written) is logged and the material in use is kept.
type Source struct {
	files Files
	log   *slog.Logger
	every time.Duration

	mu      sync.Mutex
	cur     *material
	checked time.Time
	lastErr string // the last refusal logged, so one fault is logged once
}

// material is one loaded set of files.
type material struct {
	raw      contents // what the files held, to notice a change
	cert     *tls.Certificate
	roots    *x509.CertPool
	inter    *x509.CertPool // the intermediates sent after the certificate
	services []string       // the services the certificate names
	notAfter time.Time
}

// Open loads the files; it fails when they do not make a usable set.
func Open(files Files, log *slog.Logger) (*Source, error) {
	if files.Cert == "" || files.Key == "" || files.CA == "" {
		return nil, errors.New("mtls: a certificate, its key and the CA are all needed")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	raw, err := read(files)
	if err != nil {
		return nil, err
	}
	m, err := parse(raw, files, time.Now())
	if err != nil {
		return nil, err
	}
	return &Source{files: files, log: log, every: checkEvery, cur: m, checked: time.Now()}, nil
}

// Services returns the services the process's certificate names.
func (s *Source) Services() []string { return s.current().services }

// current returns the material to use now, first reading the files again when the last
// look is older than the check interval.
func (s *Source) current() *material {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.checked) < s.every {
		return s.cur
	}
	s.checked = now
	raw, err := read(s.files)
	if err != nil {
		s.refuse(err)
		return s.cur
	}
	if raw.equal(s.cur.raw) {
		return s.cur
	}
	m, err := parse(raw, s.files, now)
	if err != nil {
		s.refuse(err)
		return s.cur
	}
	s.cur, s.lastErr = m, ""
	s.log.Info("mtls: certificate reloaded", "services", m.services, "not_after", m.notAfter)
	return s.cur
}

// refuse logs why a replacement did not load, once per fault (it is tried again at
// each check, in case it was caught half written).
func (s *Source) refuse(err error) {
	if err.Error() == s.lastErr {
		return
	}
	s.lastErr = err.Error()
	s.log.Error("mtls: new certificate files not loaded; still using the previous ones",
		"cert", s.files.Cert, "err", err, "services", s.cur.services, "not_after", s.cur.notAfter)
}

// contents is what the three files held when read.
type contents struct{ cert, key, ca []byte }

func (c contents) equal(o contents) bool {
	return bytes.Equal(c.cert, o.cert) && bytes.Equal(c.key, o.key) && bytes.Equal(c.ca, o.ca)
}

func read(f Files) (contents, error) {
	var c contents
	for _, r := range []struct {
		name string
		into *[]byte
	}{{f.Cert, &c.cert}, {f.Key, &c.key}, {f.CA, &c.ca}} {
		b, err := os.ReadFile(r.name)
		if err != nil {
			return contents{}, fmt.Errorf("mtls: %w", err)
		}
		*r.into = b
	}
	return c, nil
}

// parse checks a set of files: the key matches the certificate, the certificate is
// valid now, chains to the CA and names at least one service.
func parse(raw contents, f Files, now time.Time) (*material, error) {
	cert, err := tls.X509KeyPair(raw.cert, raw.key)
	if err != nil {
		return nil, fmt.Errorf("mtls: %s and %s: %w", f.Cert, f.Key, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(raw.ca) {
		return nil, fmt.Errorf("mtls: %s holds no PEM certificate", f.CA)
	}
	leaf := cert.Leaf
	inter := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("mtls: %s: %w", f.Cert, err)
		}
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, fmt.Errorf("mtls: %s does not chain to %s now: %w", f.Cert, f.CA, err)
	}
	services := Services(leaf)
	if len(services) == 0 {
		return nil, fmt.Errorf("mtls: %s names no service (no URI SAN %s<service>)", f.Cert, authn.SPIFFEPrefix)
	}
	return &material{raw: raw, cert: &cert, roots: roots, inter: inter, services: services, notAfter: leaf.NotAfter}, nil
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
