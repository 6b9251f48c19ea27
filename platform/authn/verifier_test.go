package authn

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifier_KeyAddedToTheSourceIsAcceptedAtOnce(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	k2, pub2 := newKey(t, "k2")
	src := &jwks{keys: []PublicKey{pub1}}
	v, clk := newVerifier(src)

	if _, err := v.Verify(context.Background(), sign(t, k1, patient)); err != nil {
		t.Fatal(err)
	}
	src.Set(pub2, pub1) // identity rotates k2 in
	clk.Advance(v.MinRefresh)

	p, err := v.Verify(context.Background(), sign(t, k2, doctor))
	if err != nil {
		t.Fatalf("token of the new key refused: %v", err)
	}
	if p.UserID != doctor.UserID {
		t.Errorf("user = %q, want %q", p.UserID, doctor.UserID)
	}
	if got := src.Calls(); got != 2 {
		t.Errorf("source read %d times, want 2 (first use, then the unknown kid)", got)
	}
	// The old key stays cached and usable without another read.
	if _, err := v.Verify(context.Background(), sign(t, k1, patient)); err != nil {
		t.Errorf("token of the old key refused: %v", err)
	}
	if got := src.Calls(); got != 2 {
		t.Errorf("source read %d times, want still 2", got)
	}
}

func TestVerifier_UnknownKIDsWithinMinRefreshReadTheSourceOnce(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	src := &jwks{keys: []PublicKey{pub1}}
	v, clk := newVerifier(src)
	if _, err := v.Verify(context.Background(), sign(t, k1, patient)); err != nil {
		t.Fatal(err)
	}

	for i := range 50 {
		forged, _ := newKey(t, fmt.Sprintf("made-up-%d", i))
		_, err := v.Verify(context.Background(), sign(t, forged, patient))
		wantStatus(t, err, ReasonTokenInvalid)
	}
	if got := src.Calls(); got != 1 {
		t.Fatalf("50 unknown kids within MinRefresh read the source %d times, want 1", got)
	}

	clk.Advance(v.MinRefresh)
	forged, _ := newKey(t, "made-up-late")
	_, err := v.Verify(context.Background(), sign(t, forged, patient))
	wantStatus(t, err, ReasonTokenInvalid)
	if got := src.Calls(); got != 2 {
		t.Errorf("after MinRefresh the source was read %d times in all, want 2", got)
	}
}

func TestVerifier_AfterMaxAgeTheSetIsRefreshedAndARemovedKeyIsRefused(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	_, pub2 := newKey(t, "k2")
	src := &jwks{keys: []PublicKey{pub1, pub2}}
	v, clk := newVerifier(src)
	tok := sign(t, k1, patient) // valid for an hour, longer than MaxAge

	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	src.Set(pub2) // identity stops publishing k1

	clk.Advance(v.MaxAge)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Errorf("within MaxAge the cached key was refused: %v", err)
	}
	if got := src.Calls(); got != 1 {
		t.Errorf("within MaxAge the source was read %d times, want 1", got)
	}

	clk.Advance(time.Second)
	_, err := v.Verify(context.Background(), tok)
	wantStatus(t, err, ReasonTokenInvalid)
	if got := src.Calls(); got != 2 {
		t.Errorf("after MaxAge the source was read %d times in all, want 2", got)
	}
}

func TestVerifier_SourceDownKeepsAcceptingCachedKeysWithoutHammeringIt(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	src := &jwks{keys: []PublicKey{pub1}}
	v, clk := newVerifier(src)
	tok := sign(t, k1, patient)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}

	src.Fail(errSourceDown)
	clk.Advance(v.MaxAge + time.Second) // stale: the next use tries to refresh
	for range 20 {
		p, err := v.Verify(context.Background(), tok)
		if err != nil || p.UserID != patient.UserID {
			t.Fatalf("with the source down, a cached key's token gave %+v, %v", p, err)
		}
	}
	if got := src.Calls(); got != 2 {
		t.Errorf("source read %d times, want 2 (one failed refresh within MinRefresh)", got)
	}

	clk.Advance(v.MinRefresh)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if got := src.Calls(); got != 3 {
		t.Errorf("after MinRefresh the source was read %d times in all, want 3", got)
	}
}

func TestVerifier_SourceDownAndKIDUnknownIsUnavailable(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	src := &jwks{keys: []PublicKey{pub1}}
	src.Fail(errSourceDown)
	v, clk := newVerifier(src)
	tok := sign(t, k1, patient)

	for range 10 {
		_, err := v.Verify(context.Background(), tok)
		wantStatus(t, err, ReasonKeysUnavailable)
	}
	if got := src.Calls(); got != 1 {
		t.Errorf("source read %d times within MinRefresh, want 1", got)
	}

	src.Fail(nil)
	clk.Advance(v.MinRefresh)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Errorf("once the source is back the token was refused: %v", err)
	}
}

func TestVerifier_ACallerGivingUpDoesNotDelayTheNextRefresh(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	src := &jwks{keys: []PublicKey{pub1}}
	v, _ := newVerifier(src)
	tok := sign(t, k1, patient)

	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.Verify(gone, tok)
	wantStatus(t, err, ReasonKeysUnavailable)

	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Errorf("the next caller was refused: %v", err)
	}
	if got := src.Calls(); got != 2 {
		t.Errorf("source read %d times, want 2", got)
	}
}

func TestVerifier_ConcurrentFirstUsesReadTheSourceOnce(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	src := &jwks{keys: []PublicKey{pub1}}
	v, _ := newVerifier(src)
	tok := sign(t, k1, doctor)

	var wg sync.WaitGroup
	errc := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			p, err := v.Verify(context.Background(), tok)
			if err == nil && p.CRM != doctor.CRM {
				err = fmt.Errorf("crm = %q", p.CRM)
			}
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	if got := src.Calls(); got != 1 {
		t.Errorf("32 concurrent first uses read the source %d times, want 1", got)
	}
}

func TestVerifier_ATokenVerifiedOnceIsRememberedUntilItExpires(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	src := &jwks{keys: []PublicKey{pub1}}
	v, clk := newVerifier(src)
	ctx := context.Background()
	tok := sign(t, k1, doctor)

	for range 3 {
		p, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if p.UserID != doctor.UserID || p.Role != doctor.Role || p.CRM != doctor.CRM || p.SessionID != doctor.SessionID {
			t.Fatalf("principal %+v, want %+v", p, doctor)
		}
	}
	if n := len(v.verified); n != 1 {
		t.Fatalf("%d tokens remembered, want 1", n)
	}
	// Another string is never taken for the remembered one: a changed signature is
	// verified, and refused.
	tampered := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "BB"}[tok[len(tok)-2:] != "AA"]
	_, err := v.Verify(ctx, tampered)
	wantStatus(t, err, ReasonTokenInvalid)

	// The times are checked on every use: an hour and the leeway later it has expired.
	clk.Advance(time.Hour + v.Leeway)
	_, err = v.Verify(ctx, tok)
	wantStatus(t, err, ReasonTokenExpired)
}

func TestVerifier_ARememberedTokenIsCheckedAgainAgainstANewKeySet(t *testing.T) {
	k1, pub1 := newKey(t, "k1")
	k2, pub2 := newKey(t, "k2")
	src := &jwks{keys: []PublicKey{pub1}}
	v, clk := newVerifier(src)
	ctx := context.Background()
	old := sign(t, k1, patient)
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	// identity rotates k2 in and withdraws k1 (a leaked key, say) well within MaxAge;
	// the first token of k2 makes the verifier read the new set.
	src.Set(pub2)
	clk.Advance(v.MinRefresh)
	if _, err := v.Verify(ctx, sign(t, k2, doctor)); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(ctx, old)
	wantStatus(t, err, ReasonTokenInvalid)

	// The same kid published with another key: a token of the old key, remembered
	// under that kid, no longer verifies.
	k3, pub3 := newKey(t, "k3")
	tok3 := sign(t, k3, patient)
	if _, err := v.Verify(ctx, tok3); err == nil {
		t.Fatal("a token of an unpublished key verified")
	}
	src.Set(pub2, pub3)
	clk.Advance(v.MinRefresh)
	if _, err := v.Verify(ctx, tok3); err != nil {
		t.Fatal(err)
	}
	_, reused := newKey(t, "k3")
	src.Set(pub2, reused)
	clk.Advance(v.MaxAge + time.Second)
	_, err = v.Verify(ctx, tok3)
	wantStatus(t, err, ReasonTokenInvalid)
}

func TestVerifier_TheRememberedTokensStayBounded(t *testing.T) {
	v, clk := newVerifier(&jwks{})
	expiring := func(d time.Duration) rememberedClaims {
		var c claims
		c.ExpiresAt = jwt.NewNumericDate(clk.Now().Add(d))
		return rememberedClaims{c: c}
	}
	sum := func(i int) (s [sha256.Size]byte) {
		binary.BigEndian.PutUint64(s[:], uint64(i))
		return s
	}
	// A tenth of the memory holds tokens that have expired: those go first.
	for i := range maxRememberedTokens {
		d := time.Hour
		if i%10 == 0 {
			d = -time.Hour
		}
		v.remember(sum(i), expiring(d))
	}
	if n := len(v.verified); n != maxRememberedTokens {
		t.Fatalf("%d remembered, want %d", n, maxRememberedTokens)
	}
	v.remember(sum(maxRememberedTokens), expiring(time.Hour))
	n := len(v.verified)
	if n > maxRememberedTokens/2+1 || n < maxRememberedTokens/2-1 {
		t.Fatalf("%d remembered after the memory filled, want about half of %d", n, maxRememberedTokens)
	}
	for k, r := range v.verified {
		if !v.timesValid(&r.c) {
			t.Fatalf("an expired token (%x) was kept while live ones were forgotten", k[:8])
		}
	}
	if _, ok := v.verified[sum(maxRememberedTokens)]; !ok {
		t.Error("the token just verified was not remembered")
	}
}

// go test -run '^$' -bench Verifier_ -benchmem ./platform/authn/
func BenchmarkVerifier_RememberedToken(b *testing.B) {
	k1, pub1 := newKey(b, "k1")
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub1}})
	tok := sign(b, k1, patient)
	for b.Loop() {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifier_TokenSeenFirst(b *testing.B) {
	k1, pub1 := newKey(b, "k1")
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub1}})
	tok := sign(b, k1, patient)
	for b.Loop() {
		clear(v.verified)
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
