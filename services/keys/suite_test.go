package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// runDriverSuite checks the Driver contract. Every driver runs it: the local one and
// the AWS one against a KMS-compatible server on loopback.
func runDriverSuite(t *testing.T, newDriver func(t *testing.T) Driver) {
	ctx := context.Background()
	ec := map[string]string{"service": "records", "purpose": "document", "document": "0d6f8c1e"}

	t.Run("DataKeyIs32BytesAndDecryptsToTheSameKey", func(t *testing.T) {
		d := newDriver(t)
		pt, blob, keyID, err := d.GenerateDataKey(ctx, "", ec)
		if err != nil {
			t.Fatalf("GenerateDataKey: %v", err)
		}
		if len(pt) != DataKeySize {
			t.Fatalf("data key has %d bytes, want %d", len(pt), DataKeySize)
		}
		if keyID == "" || len(blob) <= DataKeySize || bytes.Contains(blob, pt) {
			t.Fatalf("blob %x / key id %q: want a key id and a blob that does not contain the key", blob, keyID)
		}
		got, gotKeyID, err := d.Decrypt(ctx, blob, ec)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("Decrypt = %x, want the data key %x", got, pt)
		}
		if gotKeyID != keyID {
			t.Errorf("Decrypt key id = %q, want %q (the one that encrypted)", gotKeyID, keyID)
		}
	})

	t.Run("DataKeysDifferOnEveryCall", func(t *testing.T) {
		d := newDriver(t)
		seen := map[string]bool{}
		for range 5 {
			pt, blob, _, err := d.GenerateDataKey(ctx, "", ec)
			if err != nil {
				t.Fatalf("GenerateDataKey: %v", err)
			}
			if seen[string(pt)] || seen[string(blob)] {
				t.Fatalf("data key or blob repeated: %x", pt)
			}
			seen[string(pt)], seen[string(blob)] = true, true
		}
	})

	t.Run("SmallValuesRoundTrip", func(t *testing.T) {
		d := newDriver(t)
		for _, tc := range []struct {
			name  string
			value []byte
			ec    map[string]string
		}{
			{"one byte", []byte{0}, ec},
			{"text", []byte("signing key material"), map[string]string{"purpose": "jwt"}},
			{"4 KiB", bytes.Repeat([]byte{0xa5}, 4096), ec},
			{"unicode context", []byte("x"), map[string]string{"cidade": "São Paulo"}},
		} {
			blob, keyID, err := d.Encrypt(ctx, "", tc.value, tc.ec)
			if err != nil {
				t.Fatalf("%s: Encrypt: %v", tc.name, err)
			}
			if bytes.Equal(blob, tc.value) || keyID == "" {
				t.Fatalf("%s: Encrypt returned blob %x, key id %q", tc.name, blob, keyID)
			}
			got, gotKeyID, err := d.Decrypt(ctx, blob, tc.ec)
			if err != nil {
				t.Fatalf("%s: Decrypt: %v", tc.name, err)
			}
			if !bytes.Equal(got, tc.value) || gotKeyID != keyID {
				t.Errorf("%s: Decrypt = %x (key %q), want %x (key %q)", tc.name, got, gotKeyID, tc.value, keyID)
			}
		}
	})

	t.Run("EncryptingTheSameValueTwiceGivesDifferentBlobs", func(t *testing.T) {
		d := newDriver(t)
		a, _, errA := d.Encrypt(ctx, "", []byte("12345678909"), ec)
		b, _, errB := d.Encrypt(ctx, "", []byte("12345678909"), ec)
		if errA != nil || errB != nil {
			t.Fatalf("Encrypt: %v, %v", errA, errB)
		}
		if bytes.Equal(a, b) {
			t.Errorf("two encryptions gave the same blob %x: equal values would be visible", a)
		}
	})

	t.Run("OtherContextFailsWithErrDecrypt", func(t *testing.T) {
		d := newDriver(t)
		blob, _, err := d.Encrypt(ctx, "", []byte("secret"), ec)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		for _, tc := range []struct {
			name string
			ec   map[string]string
		}{
			{"other value", with(ec, "document", "0d6f8c1f")},
			{"extra pair", with(ec, "extra", "x")},
			{"missing pair", without(ec, "document")},
			{"key in other case", with(without(ec, "purpose"), "Purpose", "document")},
			{"empty context", nil},
		} {
			pt, _, err := d.Decrypt(ctx, blob, tc.ec)
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("%s: Decrypt error = %v, want ErrDecrypt", tc.name, err)
			}
			if pt != nil {
				t.Errorf("%s: Decrypt returned plaintext %q with an error", tc.name, pt)
			}
		}
	})

	t.Run("EmptyContextRoundTripsAndIsRequiredBack", func(t *testing.T) {
		d := newDriver(t)
		blob, _, err := d.Encrypt(ctx, "", []byte("no context"), map[string]string{})
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		got, _, err := d.Decrypt(ctx, blob, nil) // nil and empty are the same context
		if err != nil || string(got) != "no context" {
			t.Fatalf("Decrypt = %q, %v; want the value", got, err)
		}
		if _, _, err := d.Decrypt(ctx, blob, map[string]string{"a": "b"}); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Decrypt with a context the blob lacks: error = %v, want ErrDecrypt", err)
		}
	})

	t.Run("AlteredBlobFailsWithErrDecrypt", func(t *testing.T) {
		d := newDriver(t)
		value := []byte("a value that must never come back altered")
		blob, _, err := d.Encrypt(ctx, "", value, ec)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		altered := map[string][]byte{
			"last byte removed":  blob[:len(blob)-1],
			"one byte appended":  append(bytes.Clone(blob), 0),
			"cut after 10 bytes": blob[:10],
		}
		for i := range blob { // every position: header, key reference, nonce, body, tag
			b := bytes.Clone(blob)
			b[i] ^= 0x01
			altered[fmt.Sprintf("bit flipped at byte %d", i)] = b
		}
		for name, b := range altered {
			pt, _, err := d.Decrypt(ctx, b, ec)
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("%s: Decrypt error = %v, want ErrDecrypt", name, err)
			}
			if pt != nil {
				t.Errorf("%s: Decrypt returned plaintext %q", name, pt)
			}
		}
	})

	t.Run("UnknownKeyFailsWithErrKeyNotFound", func(t *testing.T) {
		d := newDriver(t)
		if _, _, err := d.Encrypt(ctx, "alias/healthcore-missing", []byte("x"), ec); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Encrypt error = %v, want ErrKeyNotFound", err)
		}
		if _, _, _, err := d.GenerateDataKey(ctx, "alias/healthcore-missing", ec); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("GenerateDataKey error = %v, want ErrKeyNotFound", err)
		}
	})

	t.Run("ConcurrentCallsEachGetTheirOwnValueBack", func(t *testing.T) {
		d := newDriver(t)
		var wg sync.WaitGroup
		errc := make(chan error, 16)
		for g := range 8 {
			wg.Go(func() {
				for i := range 5 {
					myEC := with(ec, "document", fmt.Sprintf("doc-%d-%d", g, i))
					value := []byte(strings.Repeat(fmt.Sprint(g), i+1))
					blob, _, err := d.Encrypt(ctx, "", value, myEC)
					if err != nil {
						errc <- err
						return
					}
					dk, dkBlob, _, err := d.GenerateDataKey(ctx, "", myEC)
					if err != nil {
						errc <- err
						return
					}
					got, _, err := d.Decrypt(ctx, blob, myEC)
					gotDK, _, err2 := d.Decrypt(ctx, dkBlob, myEC)
					if err != nil || err2 != nil || !bytes.Equal(got, value) || !bytes.Equal(gotDK, dk) {
						errc <- fmt.Errorf("goroutine %d call %d: got %q, %v / %v", g, i, got, err, err2)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
	})
}

// with returns a copy of m with k set to v.
func with(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for mk, mv := range m {
		out[mk] = mv
	}
	out[k] = v
	return out
}

// without returns a copy of m without k.
func without(m map[string]string, k string) map[string]string {
	out := with(m, k, "")
	delete(out, k)
	return out
}
