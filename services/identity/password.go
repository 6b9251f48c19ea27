package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters. The defaults are OWASP's second
// recommended set (19 MiB, 2 passes, 1 lane): about 25–40 ms per hash on one core of
// the reference machine (see bench/), which keeps a login under a tenth of a second
// while making offline guessing expensive. Memory per hash bounds concurrency: the
// hasher runs at most MaxConcurrent hashes at once.
type Argon2Params struct {
	MemoryKiB     uint32
	Iterations    uint32
	Parallelism   uint8
	MaxConcurrent int
}

// DefaultArgon2 is what production uses.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, MaxConcurrent: 8}

// BelowOWASP reports whether the parameters are weaker than the weakest of OWASP's
// recommended argon2id sets (7 MiB with 5 passes … 46 MiB with 1): production refuses
// them unless told that it runs tests or a benchmark's preparation.
func (p Argon2Params) BelowOWASP() bool {
	return p.MemoryKiB < 7*1024 || uint64(p.MemoryKiB)*uint64(p.Iterations) < 7*1024*5
}

const (
	saltLen = 16
	keyLen  = 32
)

// hasher hashes and verifies passwords in PHC string form
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), limiting concurrent hashes.
type hasher struct {
	p     Argon2Params
	slots chan struct{}
	// dummy is verified when an account does not exist, so a wrong login costs the same
	// whether or not the account is there.
	dummy string
}

func newHasher(p Argon2Params) *hasher {
	if p.MaxConcurrent < 1 {
		p.MaxConcurrent = 1
	}
	h := &hasher{p: p, slots: make(chan struct{}, p.MaxConcurrent)}
	h.dummy, _ = h.hash(context.Background(), "not a password: equalises login timing")
	return h
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.slots }

func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Iterations, h.p.MemoryKiB, h.p.Parallelism, keyLen)
	h.release()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.p.MemoryKiB, h.p.Iterations, h.p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches encoded, and whether encoded was made with
// other parameters than the current ones (so the caller can re-hash on success).
func (h *hasher) verify(ctx context.Context, password, encoded string) (ok, outdated bool, err error) {
	var m, t uint32
	var p uint8
	var version int
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, false, errors.New("password hash is not argon2id PHC")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, fmt.Errorf("argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, false, fmt.Errorf("argon2 params %q: %w", parts[3], err)
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err := errors.Join(err1, err2); err != nil {
		return false, false, fmt.Errorf("argon2 encoding: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	h.release()
	ok = subtle.ConstantTimeCompare(got, want) == 1
	outdated = m != h.p.MemoryKiB || t != h.p.Iterations || p != h.p.Parallelism
	return ok, outdated, nil
}

// burn spends the time of one verification on a password that cannot match.
func (h *hasher) burn(ctx context.Context, password string) {
	_, _, _ = h.verify(ctx, password, h.dummy)
}
