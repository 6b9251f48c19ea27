package envelope

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/errs"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/keys"
)

// calls counts the keys-service procedures a client invokes.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) interceptor() connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			c.mu.Lock()
			c.n[req.Spec().Procedure]++
			c.mu.Unlock()
			return next(ctx, req)
		}
	})
}

func (c *calls) generate() int { return c.count(keysv1connect.KeysServiceGenerateDataKeyProcedure) }
func (c *calls) decrypt() int  { return c.count(keysv1connect.KeysServiceDecryptProcedure) }

func (c *calls) count(procedure string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[procedure]
}

// countedKeys starts the keys service with its local driver, as testkit.Keys does, and
// returns a client whose calls are counted.
func countedKeys(t *testing.T) (keysv1connect.KeysServiceClient, *calls) {
	t.Helper()
	driver, err := keys.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	url := testkit.Serve(t, testkit.ServiceAuth("keys"), func(s *server.Server) {
		s.Handle(keys.New(driver).Handler(s.HandlerOptions()...))
	})
	c := &calls{n: map[string]int{}}
	client := keysv1connect.NewKeysServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller("identity"), c.interceptor()))
	return client, c
}

var (
	piiContext = map[string]string{"service": "identity", "purpose": "patient-pii"}
	rowID      = []byte("account/6f1c2a9e-3d4b-4c8a-9e7f-0a1b2c3d4e5f")
	ctx        = context.Background()
)

func mustSeal(t *testing.T, e *Envelope, plaintext []byte, ec map[string]string, aad []byte) []byte {
	t.Helper()
	sealed, err := e.Seal(ctx, plaintext, ec, aad)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// edkOf returns the encrypted data key a sealed value names.
func edkOf(sealed []byte) string {
	n := int(binary.BigEndian.Uint16(sealed[1:]))
	return string(sealed[3 : 3+n])
}

func TestSealOpen_RoundTripWithoutThePlaintextInTheOutput(t *testing.T) {
	e := New(testkit.Keys(t, "identity"), Defaults)
	big := bytes.Repeat([]byte("prontuário "), 6000)
	for name, pt := range map[string][]byte{
		"empty": {},
		"cpf":   []byte("529.982.247-25"),
		"66 kB": big,
	} {
		t.Run(name, func(t *testing.T) {
			sealed := mustSeal(t, e, pt, piiContext, rowID)
			if len(pt) > 0 && bytes.Contains(sealed, pt) {
				t.Fatal("the sealed value contains the plaintext")
			}
			again := mustSeal(t, e, pt, piiContext, rowID)
			if bytes.Equal(sealed, again) {
				t.Error("sealing twice gave the same bytes: the nonce is not fresh")
			}
			got, err := e.Open(ctx, sealed, piiContext, rowID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Errorf("opened %d bytes that differ from the %d sealed", len(got), len(pt))
			}
		})
	}
}

func TestOpen_RefusesAnotherContextOrAAD(t *testing.T) {
	e := New(testkit.Keys(t, "identity"), Defaults)
	ec := map[string]string{"a": "bc"}
	sealed := mustSeal(t, e, []byte("529.982.247-25"), ec, rowID)
	tests := []struct {
		name string
		ec   map[string]string
		aad  []byte
	}{
		{"value changed", map[string]string{"a": "bd"}, rowID},
		{"same bytes split differently", map[string]string{"ab": "c"}, rowID},
		{"pair added", map[string]string{"a": "bc", "purpose": "x"}, rowID},
		{"no context", nil, rowID},
		{"another row", ec, []byte("account/8a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d")},
		{"no aad", ec, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := e.Open(ctx, sealed, tt.ec, tt.aad)
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %q, %v; want ErrOpen", pt, err)
			}
		})
	}
}

func TestOpen_RefusesAValueWithAnyByteFlipped(t *testing.T) {
	e := New(testkit.Keys(t, "identity"), Defaults)
	sealed := mustSeal(t, e, []byte("CPF"), piiContext, rowID)
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80} {
			altered := bytes.Clone(sealed)
			altered[i] ^= mask
			if pt, err := e.Open(ctx, altered, piiContext, rowID); !errors.Is(err, ErrOpen) {
				t.Errorf("byte %d ^ %#x: Open = %q, %v; want ErrOpen", i, mask, pt, err)
			}
		}
	}
}

func TestOpen_RefusesATruncatedOrExtendedValue(t *testing.T) {
	e := New(testkit.Keys(t, "identity"), Defaults)
	sealed := mustSeal(t, e, []byte("CPF"), piiContext, rowID)
	for n := range len(sealed) {
		if pt, err := e.Open(ctx, sealed[:n], piiContext, rowID); !errors.Is(err, ErrOpen) {
			t.Errorf("first %d of %d bytes: Open = %q, %v; want ErrOpen", n, len(sealed), pt, err)
		}
	}
	if pt, err := e.Open(ctx, append(bytes.Clone(sealed), 0), piiContext, rowID); !errors.Is(err, ErrOpen) {
		t.Errorf("one byte appended: Open = %q, %v; want ErrOpen", pt, err)
	}
}

func TestSeal_AsksForANewDataKeyAfterMaxMessages(t *testing.T) {
	client, calls := countedKeys(t)
	e := New(client, Options{MaxMessages: 3})
	var sealed [][]byte
	for i := range 4 {
		sealed = append(sealed, mustSeal(t, e, fmt.Appendf(nil, "value %d", i), piiContext, rowID))
		want := 1
		if i == 3 {
			want = 2
		}
		if got := calls.generate(); got != want {
			t.Fatalf("after %d seals: %d GenerateDataKey calls, want %d", i+1, got, want)
		}
	}
	if edkOf(sealed[0]) != edkOf(sealed[2]) || edkOf(sealed[2]) == edkOf(sealed[3]) {
		t.Error("values 1-3 should share a data key and value 4 have its own")
	}
	for i, s := range sealed {
		if got, err := e.Open(ctx, s, piiContext, rowID); err != nil || string(got) != fmt.Sprintf("value %d", i) {
			t.Errorf("value %d opened as %q, %v", i, got, err)
		}
	}
}

func TestSeal_AsksForANewDataKeyAfterMaxAge(t *testing.T) {
	client, calls := countedKeys(t)
	e := New(client, Options{MaxAge: time.Minute})
	now := time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return now }

	first := mustSeal(t, e, []byte("a"), piiContext, rowID)
	now = now.Add(time.Minute - time.Nanosecond)
	second := mustSeal(t, e, []byte("b"), piiContext, rowID)
	if got := calls.generate(); got != 1 || edkOf(first) != edkOf(second) {
		t.Fatalf("within MaxAge: %d GenerateDataKey calls, want 1 and the same key", got)
	}
	now = now.Add(time.Nanosecond)
	third := mustSeal(t, e, []byte("c"), piiContext, rowID)
	if got := calls.generate(); got != 2 || edkOf(third) == edkOf(second) {
		t.Fatalf("at MaxAge: %d GenerateDataKey calls, want 2 and a new key", got)
	}
}

func TestSeal_KeepsOneDataKeyPerContext(t *testing.T) {
	client, calls := countedKeys(t)
	e := New(client, Defaults)
	other := map[string]string{"service": "identity", "purpose": "signing-key"}
	a := mustSeal(t, e, []byte("a"), piiContext, rowID)
	b := mustSeal(t, e, []byte("b"), other, rowID)
	for range 5 {
		mustSeal(t, e, []byte("c"), piiContext, rowID)
		mustSeal(t, e, []byte("d"), other, rowID)
	}
	if got := calls.generate(); got != 2 {
		t.Errorf("%d GenerateDataKey calls for two contexts, want 2", got)
	}
	if edkOf(a) == edkOf(b) {
		t.Error("two contexts share a data key")
	}
}

func TestOpen_UnderACachedSealingKeyCallsNoDecrypt(t *testing.T) {
	client, calls := countedKeys(t)
	e := New(client, Defaults)
	for i := range 5 {
		s := mustSeal(t, e, fmt.Appendf(nil, "v%d", i), piiContext, rowID)
		if _, err := e.Open(ctx, s, piiContext, rowID); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.decrypt(); got != 0 {
		t.Errorf("%d Decrypt calls, want 0: the sealing key is cached", got)
	}
}

func TestOpen_FreshEnvelopeDecryptsEachDataKeyOnce(t *testing.T) {
	client, calls := countedKeys(t)
	sealer := New(client, Options{MaxMessages: 2})
	var sealed [][]byte
	for i := range 6 { // three data keys
		sealed = append(sealed, mustSeal(t, sealer, fmt.Appendf(nil, "v%d", i), piiContext, rowID))
	}
	if got := calls.generate(); got != 3 {
		t.Fatalf("%d GenerateDataKey calls, want 3", got)
	}

	reader := New(client, Defaults)
	for range 3 {
		for i, s := range sealed {
			got, err := reader.Open(ctx, s, piiContext, rowID)
			if err != nil || string(got) != fmt.Sprintf("v%d", i) {
				t.Fatalf("value %d opened as %q, %v", i, got, err)
			}
		}
	}
	if got := calls.decrypt(); got != 3 {
		t.Errorf("%d Decrypt calls for 3 data keys opened 18 times, want 3", got)
	}
}

func TestSealOpen_ConcurrentUseKeepsEveryKeyWithinMaxMessages(t *testing.T) {
	const workers, each, maxMessages = 16, 40, 7
	client, calls := countedKeys(t)
	e := New(client, Options{MaxMessages: maxMessages})
	reader := New(client, Defaults)

	var mu sync.Mutex
	uses := map[string]int{} // data key → values sealed under it
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				pt := fmt.Appendf(nil, "worker %d value %d", w, i)
				aad := fmt.Appendf(nil, "row %d/%d", w, i)
				s, err := e.Seal(ctx, pt, piiContext, aad)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				uses[edkOf(s)]++
				mu.Unlock()
				for _, env := range []*Envelope{e, reader} {
					if got, err := env.Open(ctx, s, piiContext, aad); err != nil || !bytes.Equal(got, pt) {
						t.Errorf("opened %q, %v; want %q", got, err, pt)
						return
					}
				}
			}
		})
	}
	wg.Wait()

	for _, n := range uses {
		if n > maxMessages {
			t.Errorf("a data key sealed %d values, more than MaxMessages %d", n, maxMessages)
		}
	}
	// Racing goroutines may each fetch a key and keep only one, so more keys may be
	// generated than used; never fewer.
	if least := (workers*each + maxMessages - 1) / maxMessages; len(uses) < least {
		t.Errorf("%d data keys sealed %d values, want at least %d", len(uses), workers*each, least)
	}
	if got := calls.generate(); got < len(uses) {
		t.Errorf("%d data keys seen but only %d generated", len(uses), got)
	}
}

func TestSealOpen_KeysServiceFailuresAreNotErrOpen(t *testing.T) {
	t.Run("unknown master key", func(t *testing.T) {
		e := New(testkit.Keys(t, "identity"), Options{KeyID: "no-such-key"})
		_, err := e.Seal(ctx, []byte("x"), piiContext, rowID)
		if err == nil || errors.Is(err, ErrOpen) {
			t.Fatalf("Seal = %v, want a keys-service error", err)
		}
		if !errs.Has(err, keys.ReasonKeyNotFound) {
			t.Errorf("reason = %q, want %v", errs.ReasonOf(err), keys.ReasonKeyNotFound)
		}
	})
	t.Run("keys service down", func(t *testing.T) {
		sealed := mustSeal(t, New(testkit.Keys(t, "identity"), Defaults), []byte("x"), piiContext, rowID)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + ln.Addr().String()
		ln.Close() // nothing listens there now
		e := New(keysv1connect.NewKeysServiceClient(testkit.HTTPClient(t), down, connect.WithGRPC()), Defaults)

		_, err = e.Open(ctx, sealed, piiContext, rowID)
		if err == nil || errors.Is(err, ErrOpen) {
			t.Fatalf("Open = %v, want an outage, not ErrOpen", err)
		}
		if got := connect.CodeOf(err); got != connect.CodeUnavailable {
			t.Errorf("code = %v, want unavailable", got)
		}
		if _, err := e.Seal(ctx, []byte("x"), piiContext, rowID); connect.CodeOf(err) != connect.CodeUnavailable {
			t.Errorf("Seal = %v, want unavailable", err)
		}
	})
}

func TestCanonical_EncodesEachContextUnambiguously(t *testing.T) {
	tests := []struct {
		name string
		a, b map[string]string
		same bool
	}{
		{"split of the same bytes", map[string]string{"a": "bc"}, map[string]string{"ab": "c"}, false},
		{"separators inside a value", map[string]string{"a": "b", "c": "d"}, map[string]string{"a": "b;1:c=1:d"}, false},
		{"separator inside a key", map[string]string{"a=1:b": "c"}, map[string]string{"a": "b=1:c"}, false},
		{"empty pair", map[string]string{"": ""}, nil, false},
		{"nil and empty", nil, map[string]string{}, true},
		{"equal maps", map[string]string{"service": "identity", "purpose": "pii"}, map[string]string{"purpose": "pii", "service": "identity"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := canonical(tt.a) == canonical(tt.b); got != tt.same {
				t.Errorf("canonical(%v) = %q, canonical(%v) = %q; same = %v, want %v",
					tt.a, canonical(tt.a), tt.b, canonical(tt.b), got, tt.same)
			}
		})
	}
}

func TestCanonical_DoesNotDependOnInsertionOrder(t *testing.T) {
	names := []string{"service", "purpose", "tenant", "kind", "v"}
	want := ""
	for round := range 20 {
		m := map[string]string{}
		for i := range names {
			k := names[(i+round)%len(names)]
			m[k] = k + "-value"
		}
		got := canonical(m)
		if round == 0 {
			want = got
		} else if got != want {
			t.Fatalf("round %d: %q, want %q", round, got, want)
		}
	}
}
