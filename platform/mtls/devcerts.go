package mtls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"healthcore/platform/authn"
)

// Lifetimes of the development certificates.
const (
	devCALifetime   = 365 * 24 * time.Hour
	devLeafLifetime = 90 * 24 * time.Hour
)

// WriteDevCerts makes a local CA and, for each service (and "gateway", added when
// missing), a certificate with its URI SAN spiffe://healthcore/<service> plus DNS
// localhost and IP 127.0.0.1, valid for both serving and calling. It writes dir/ca.pem,
// dir/<service>.pem and dir/<service>-key.pem (keys readable by the owner only); the
// CA's own key is not kept, so making more certificates is making a new set. Files are
// replaced whole (written aside, then renamed), so a running Source never reads one
// half written. For development and tests; a cluster's certificates come from its
// issuer (cert-manager, a mesh).
func WriteDevCerts(dir string, services []string) error {
	if !slices.Contains(services, "gateway") {
		services = append(slices.Clone(services), "gateway")
	}
	for _, name := range services {
		if !validName(name) {
			return fmt.Errorf("mtls: %q is not a service name", name)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mtls: %w", err)
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("mtls: CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"Healthcore"}, CommonName: "Healthcore development CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(devCALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := sign(caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("mtls: %w", err)
	}
	if err := writeFile(filepath.Join(dir, "ca.pem"), pemBlock("CERTIFICATE", caDER), 0o644); err != nil {
		return err
	}
	for _, name := range services {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("mtls: %s key: %w", name, err)
		}
		der, err := sign(&x509.Certificate{
			Subject:     pkix.Name{Organization: []string{"Healthcore"}, CommonName: name},
			NotBefore:   now.Add(-time.Hour),
			NotAfter:    now.Add(devLeafLifetime),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			URIs:        []*url.URL{SPIFFEID(name)},
			DNSNames:    []string{"localhost"},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}, ca, key.Public(), caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return fmt.Errorf("mtls: %s key: %w", name, err)
		}
		// The key first: a Source reading between the two renames sees the new key
		// with the old certificate, refuses the pair and keeps what it has.
		if err := writeFile(filepath.Join(dir, name+"-key.pem"), pemBlock("PRIVATE KEY", keyDER), 0o600); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, name+".pem"), pemBlock("CERTIFICATE", der), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// DevFiles names the files WriteDevCerts wrote in dir for service.
func DevFiles(dir, service string) Files {
	return Files{
		Cert: filepath.Join(dir, service+".pem"), Key: filepath.Join(dir, service+"-key.pem"), CA: filepath.Join(dir, "ca.pem"),
	}
}

// SPIFFEID is the URI SAN that names service in its certificate.
func SPIFFEID(service string) *url.URL {
	u, err := url.Parse(authn.SPIFFEPrefix + service)
	if err != nil {
		panic(fmt.Sprintf("mtls: service name %q makes no URI: %v", service, err))
	}
	return u
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("mtls: serial: %w", err)
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("mtls: sign %s: %w", tmpl.Subject.CommonName, err)
	}
	return der, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// writeFile replaces name whole: it writes a temporary file beside it and renames it.
func writeFile(name string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("mtls: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("mtls: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("mtls: write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mtls: write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("mtls: %w", err)
	}
	return nil
}
