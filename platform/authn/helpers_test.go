package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/errs"
)

// t0 is the instant tests issue tokens at: whole seconds, as token times are.
var t0 = time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)

// newKey generates an Ed25519 signing key and its published half.
func newKey(t testing.TB, kid string) (SigningKey, PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return SigningKey{KID: kid, Private: priv}, PublicKey{KID: kid, Key: pub}
}

// sign issues a token for p at t0, valid for an hour.
func sign(t testing.TB, key SigningKey, p Principal) string {
	t.Helper()
	tok, _, err := Sign(key, p, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// jwks is a key set that can change and fail, counting how often it is read. Its
// Source method is the KeySource given to verifiers: a plain function, as the JWKS
// client is.
type jwks struct {
	mu    sync.Mutex
	keys  []PublicKey
	err   error
	calls int
}

func (j *jwks) Source(ctx context.Context) ([]PublicKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if j.err != nil {
		return nil, j.err
	}
	return append([]PublicKey(nil), j.keys...), nil
}

func (j *jwks) Set(keys ...PublicKey) {
	j.mu.Lock()
	j.keys = keys
	j.mu.Unlock()
}

func (j *jwks) Fail(err error) {
	j.mu.Lock()
	j.err = err
	j.mu.Unlock()
}

func (j *jwks) Calls() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.calls
}

// newVerifier returns a verifier over src whose clock starts at t0.
func newVerifier(src *jwks) (*Verifier, *clock) {
	clk := &clock{now: t0}
	v := NewVerifier(src.Source)
	v.Now = clk.Now
	return v, clk
}

var (
	patient = Principal{UserID: "6f1c2a9e-3d4b-4c8a-9e7f-0a1b2c3d4e5f", Role: accessv1.Role_ROLE_PATIENT, SessionID: "sess-patient"}
	doctor  = Principal{UserID: "8a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d", Role: accessv1.Role_ROLE_DOCTOR, CRM: "123456/SP", SessionID: "sess-doctor"}
	admin   = Principal{UserID: "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a", Role: accessv1.Role_ROLE_ADMIN, SessionID: "sess-admin"}
)

// wantStatus asserts the declared reason err is sent with, and so its code; the zero
// Reason means no error.
func wantStatus(t testing.TB, err error, r errs.Reason) {
	t.Helper()
	if r == (errs.Reason{}) {
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %v", r)
	}
	if !errs.Has(err, r) {
		t.Fatalf("got %v %q (%v), want %v", errs.Code(err), errs.ReasonOf(err), err, r)
	}
}

var errSourceDown = errors.New("identity: connection refused")
