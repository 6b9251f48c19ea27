package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"healthcore/platform/envelope"
	"healthcore/platform/pg"
)

// Encryption contexts of the sealed values this service keeps. They name the purpose,
// never a person; the row's id is bound separately as associated data.
var (
	piiContext    = map[string]string{"service": "identity", "purpose": "patient-pii"}
	secretContext = map[string]string{"service": "identity", "purpose": "service-secret"}
)

// patientPII is what is sealed in accounts.pii.
type patientPII struct {
	CPF       string `json:"cpf"` // 11 digits
	Phone     string `json:"phone"`
	BirthDate string `json:"birth_date"` // YYYY-MM-DD
}

func (s *Service) sealPII(ctx context.Context, accountID string, p patientPII) ([]byte, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return s.env.Seal(ctx, raw, piiContext, []byte(accountID))
}

func (s *Service) openPII(ctx context.Context, accountID string, sealed []byte) (patientPII, error) {
	var p patientPII
	raw, err := s.env.Open(ctx, sealed, piiContext, []byte(accountID))
	if err != nil {
		return p, fmt.Errorf("open pii of %s: %w", accountID, err)
	}
	return p, json.Unmarshal(raw, &p)
}

// blindIndex is the keyed hash that finds a value without storing it: HMAC-SHA256
// under a secret key, with a domain label so indexes of different kinds never collide.
func (s *Service) blindIndex(label, value string) []byte {
	m := hmac.New(sha256.New, s.blindIx)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// loadSecret returns the named service secret, opened. When there is none yet it stores
// the sealed value of fresh() first: of two replicas starting together, the first
// insert wins and both read it back.
func (s *Service) loadSecret(ctx context.Context, name string, fresh func() ([]byte, error)) ([]byte, error) {
	if secret, ok, err := openSecret(ctx, s.db, s.env, name); err != nil || ok {
		return secret, err
	}
	value, err := fresh()
	if err != nil {
		return nil, fmt.Errorf("new secret %s: %w", name, err)
	}
	sealed, err := s.env.Seal(ctx, value, secretContext, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("seal secret %s: %w", name, err)
	}
	if err := s.secrets.insertIfMissing(ctx, s.db, name, sealed); err != nil {
		return nil, err
	}
	secret, ok, err := openSecret(ctx, s.db, s.env, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("secret %s vanished", name)
	}
	return secret, nil
}

// randomSecret is 32 random bytes: the blind index's key.
func randomSecret() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

// openSecret returns the named service secret, opened; ok is false when there is none.
func openSecret(ctx context.Context, q pg.Querier, env *envelope.Envelope, name string) (secret []byte, ok bool, err error) {
	sealed, ok, err := secretStore{}.get(ctx, q, name)
	if err != nil || !ok {
		return nil, ok, err
	}
	secret, err = env.Open(ctx, sealed, secretContext, []byte(name))
	if err != nil {
		return nil, false, fmt.Errorf("open secret %s: %w", name, err)
	}
	return secret, true, nil
}
