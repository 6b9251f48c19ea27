package authn

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
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
