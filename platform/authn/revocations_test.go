package authn

import (
	"context"
	"sync"
	"testing"
	"time"
)

// ended is identity's list of ended sessions as a source that can change and fail,
// counting how often it is read.
type ended struct {
	mu    sync.Mutex
	ids   []string
	err   error
	calls int
}

func (e *ended) Source(ctx context.Context) ([]RevokedSession, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	if e.err != nil {
		return nil, e.err
	}
	out := make([]RevokedSession, len(e.ids))
	for i, id := range e.ids {
		out[i] = RevokedSession{ID: id, Expires: t0.Add(time.Hour)}
	}
	return out, nil
}

func (e *ended) End(sid string) {
	e.mu.Lock()
	e.ids = append(e.ids, sid)
	e.mu.Unlock()
}

func (e *ended) Fail(err error) {
	e.mu.Lock()
	e.err = err
	e.mu.Unlock()
}

func (e *ended) Calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

// revokingVerifier returns a verifier of k's tokens that checks sessions against src
// with the default policy, its clock at t0.
func revokingVerifier(t *testing.T, src *ended) (*Verifier, *clock, SigningKey) {
	t.Helper()
	k, pub := newKey(t, "k1")
	v, clk := newVerifier(&jwks{keys: []PublicKey{pub}})
	return v.CheckRevocations(src.Source, DefaultRevocationPolicy), clk, k
}

func TestRevocations_AnEndedSessionIsRefusedOnceTheListIsRefreshed(t *testing.T) {
	src := &ended{}
	v, clk, k := revokingVerifier(t, src)
	ctx := context.Background()
	tok, other := sign(t, k, patient), sign(t, k, doctor)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}

	src.End(patient.SessionID) // the patient logs out
	// Within the refresh interval the list held is used: this is the staleness bound.
	clk.Advance(DefaultRevocationPolicy.Refresh - time.Second)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("within the refresh interval: %v", err)
	}
	if got := src.Calls(); got != 1 {
		t.Fatalf("list read %d times within the refresh interval, want 1", got)
	}
	clk.Advance(time.Second)
	_, err := v.Verify(ctx, tok)
	wantStatus(t, err, ReasonSessionEnded)
	if got := src.Calls(); got != 2 {
		t.Errorf("list read %d times, want 2", got)
	}
	// Only that session: the doctor's tokens still verify, from the list held.
	if p, err := v.Verify(ctx, other); err != nil || p.SessionID != doctor.SessionID {
		t.Errorf("another session: %+v, %v", p, err)
	}
	if got := src.Calls(); got != 2 {
		t.Errorf("list read %d times, want still 2", got)
	}
}

func TestRevocations_SourceDownKeepsTheLastListUntilMaxStaleThenRefusesEveryToken(t *testing.T) {
	src := &ended{}
	src.End(doctor.SessionID)
	v, clk, k := revokingVerifier(t, src)
	ctx := context.Background()
	pol := DefaultRevocationPolicy
	tok, endedTok := sign(t, k, patient), sign(t, k, doctor)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}

	src.Fail(errSourceDown)
	clk.Advance(pol.Refresh)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("source down, list %s old: %v", pol.Refresh, err)
	}
	_, err := v.Verify(ctx, endedTok)
	wantStatus(t, err, ReasonSessionEnded) // the last list still refuses what it lists
	if got := src.Calls(); got != 2 {
		t.Errorf("list read %d times, want 2: a failed fetch is not retried within the refresh interval", got)
	}

	clk.Advance(pol.MaxStale - pol.Refresh) // the list is MaxStale old: still used
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("source down, list MaxStale old: %v", err)
	}
	clk.Advance(time.Second) // past MaxStale: fail closed
	_, err = v.Verify(ctx, tok)
	wantStatus(t, err, ReasonRevokedSessionsUnavailable)
	_, err = v.Verify(ctx, endedTok)
	wantStatus(t, err, ReasonRevokedSessionsUnavailable)

	src.Fail(nil) // identity answers again
	clk.Advance(pol.Refresh)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("source back: %v", err)
	}
	_, err = v.Verify(ctx, endedTok)
	wantStatus(t, err, ReasonSessionEnded)
}

func TestRevocations_NoListYetAndSourceDownRefusesTokens(t *testing.T) {
	src := &ended{}
	src.Fail(errSourceDown)
	v, clk, k := revokingVerifier(t, src)
	_, err := v.Verify(context.Background(), sign(t, k, patient))
	wantStatus(t, err, ReasonRevokedSessionsUnavailable)

	src.Fail(nil)
	_, err = v.Verify(context.Background(), sign(t, k, patient))
	wantStatus(t, err, ReasonRevokedSessionsUnavailable) // not retried within the refresh interval
	clk.Advance(DefaultRevocationPolicy.Refresh)
	if _, err := v.Verify(context.Background(), sign(t, k, patient)); err != nil {
		t.Errorf("source back: %v", err)
	}
}

func TestRevocations_ATokenNamingNoSessionIsRefused(t *testing.T) {
	v, _, k := revokingVerifier(t, &ended{})
	noSession := patient
	noSession.SessionID = ""
	_, err := v.Verify(context.Background(), sign(t, k, noSession))
	wantStatus(t, err, ReasonTokenInvalid)
}

func TestRevocations_RefreshZeroReadsTheListAtEveryVerification(t *testing.T) {
	src := &ended{}
	k, pub := newKey(t, "k1")
	v, _ := newVerifier(&jwks{keys: []PublicKey{pub}})
	pol := DefaultRevocationPolicy
	pol.Refresh = 0
	v.CheckRevocations(src.Source, pol)
	tok := sign(t, k, patient)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	src.End(patient.SessionID)
	_, err := v.Verify(context.Background(), tok)
	wantStatus(t, err, ReasonSessionEnded)
}

func TestRevocations_ConcurrentFirstUsesReadTheListOnce(t *testing.T) {
	src := &ended{}
	v, _, k := revokingVerifier(t, src)
	tok := sign(t, k, patient)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent first use: %v", err)
		}
	}
	if got := src.Calls(); got != 1 {
		t.Errorf("list read %d times, want 1", got)
	}
}

func TestRevocations_AnEntryPastItsExpiryIsDropped(t *testing.T) {
	k, pub := newKey(t, "k1")
	v, clk := newVerifier(&jwks{keys: []PublicKey{pub}})
	v.CheckRevocations(func(context.Context) ([]RevokedSession, error) {
		return []RevokedSession{{ID: patient.SessionID, Expires: t0.Add(time.Minute)}}, nil
	}, DefaultRevocationPolicy)
	tok := sign(t, k, patient)
	_, err := v.Verify(context.Background(), tok)
	wantStatus(t, err, ReasonSessionEnded)
	clk.Advance(time.Minute + time.Second)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Errorf("entry past its expiry still refuses: %v", err)
	}
}
