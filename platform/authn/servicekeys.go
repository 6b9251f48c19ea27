package authn

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// ServiceKeys are the Ed25519 keys of service tokens: the public keys of every service
// (one, or two while a service's key is rotated), by which a callee verifies who calls
// it, and the private keys of the services this process runs, with which they sign.
// A ServiceKeys does not change once built.
type ServiceKeys struct {
	public  map[string]map[string]ed25519.PublicKey // service → kid → key
	signing map[string]SigningKey                   // service → the key it signs with
}

// maxServiceKeys is how many public keys a service may have at once: its key and,
// during a rotation, the one before (or after) it.
const maxServiceKeys = 2

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// NewServiceKeys builds the keys from the public keys of every service and the private
// keys of the services that sign in this process. Each private key's public half must
// be among its service's public keys, or no callee could verify what it signs.
func NewServiceKeys(public map[string][]ed25519.PublicKey, private map[string]ed25519.PrivateKey) (*ServiceKeys, error) {
	k := &ServiceKeys{public: map[string]map[string]ed25519.PublicKey{}, signing: map[string]SigningKey{}}
	for service, keys := range public {
		if !serviceName.MatchString(service) {
			return nil, fmt.Errorf("service keys: %q is not a service name", service)
		}
		switch {
		case len(keys) == 0:
			return nil, fmt.Errorf("service keys: %s has no public key", service)
		case len(keys) > maxServiceKeys:
			return nil, fmt.Errorf("service keys: %s has %d public keys; at most %d (the key and, while rotating, the one before)",
				service, len(keys), maxServiceKeys)
		}
		k.public[service] = map[string]ed25519.PublicKey{}
		for _, pub := range keys {
			if len(pub) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("service keys: %s has a public key of %d bytes", service, len(pub))
			}
			k.public[service][KeyID(pub)] = pub
		}
	}
	for service, priv := range private {
		if len(priv) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("service keys: %s has a private key of %d bytes", service, len(priv))
		}
		kid := KeyID(priv.Public().(ed25519.PublicKey))
		if _, ok := k.public[service][kid]; !ok {
			return nil, fmt.Errorf("service keys: the private key of %s is not among its public keys (add its public key to %s.pub)", service, service)
		}
		k.signing[service] = SigningKey{KID: kid, Private: priv}
	}
	return k, nil
}

// GenerateServiceKeys makes a key pair per service in memory, every one of which signs
// here: the keys of a development process that runs every service.
func GenerateServiceKeys(services []string) (*ServiceKeys, error) {
	public := map[string][]ed25519.PublicKey{}
	private := map[string]ed25519.PrivateKey{}
	for _, s := range services {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		public[s], private[s] = []ed25519.PublicKey{pub}, priv
	}
	return NewServiceKeys(public, private)
}

// KeyID is the kid of a service key: the first 8 bytes of the SHA-256 of the public
// key, in hex. Derived from the key, it needs no bookkeeping when keys rotate.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Knows tells whether the keys hold a public key of service.
func (k *ServiceKeys) Knows(service string) bool { return len(k.public[service]) > 0 }

// CanSign tells whether the keys hold the private key of service.
func (k *ServiceKeys) CanSign(service string) bool {
	_, ok := k.signing[service]
	return ok
}

// Services returns the services whose public keys are held, sorted.
func (k *ServiceKeys) Services() []string {
	return slices.Sorted(maps.Keys(k.public))
}

// The files of a service keys directory: <service>.pub holds the PEM public key(s) of
// a service (two during a rotation), <service>.key the PEM private key of a service
// that runs in the process.
const (
	publicKeyExt  = ".pub"
	privateKeyExt = ".key"
)

// LoadServiceKeys reads a service keys directory: every <service>.pub, and the
// <service>.key of each service in signers (the services this process runs).
func LoadServiceKeys(dir string, signers []string) (*ServiceKeys, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("service keys: %w", err)
	}
	public := map[string][]ed25519.PublicKey{}
	for _, e := range entries {
		service, ok := strings.CutSuffix(e.Name(), publicKeyExt)
		if !ok || e.IsDir() {
			continue
		}
		keys, err := readPublicKeys(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		public[service] = keys
	}
	private := map[string]ed25519.PrivateKey{}
	for _, s := range signers {
		priv, err := readPrivateKey(filepath.Join(dir, s+privateKeyExt))
		if err != nil {
			return nil, err
		}
		private[s] = priv
	}
	return NewServiceKeys(public, private)
}

func readPublicKeys(path string) ([]ed25519.PublicKey, error) {
	rest, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("service keys: %w", err)
	}
	var out []ed25519.PublicKey
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("service keys: %s: a %q block where a PUBLIC KEY was expected", path, b.Type)
		}
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("service keys: %s: %w", path, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("service keys: %s: a %T key; service keys are Ed25519", path, k)
		}
		out = append(out, pub)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("service keys: %s holds no PEM public key", path)
	}
	return out, nil
}

func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("service keys: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("service keys: %s holds no PEM PRIVATE KEY", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("service keys: %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("service keys: %s: a %T key; service keys are Ed25519", path, k)
	}
	return priv, nil
}

// WriteServiceKeys makes a key pair per service and writes it into dir as
// <service>.pub and <service>.key (readable by the owner only). It refuses to replace
// a file that exists: a service's key is rotated by adding its next public key to
// <service>.pub, then replacing <service>.key, then removing the old public key.
func WriteServiceKeys(dir string, services []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("service keys: %w", err)
	}
	for _, s := range slices.Sorted(slices.Values(services)) {
		if !serviceName.MatchString(s) {
			return fmt.Errorf("service keys: %q is not a service name", s)
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		pubDER, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return err
		}
		privDER, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return err
		}
		if err := writeNew(filepath.Join(dir, s+privateKeyExt), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
			return err
		}
		if err := writeNew(filepath.Join(dir, s+publicKeyExt), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("service keys: %w", err)
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}
