package keys

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newLocal(t *testing.T) *Local {
	t.Helper()
	l, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatalf("OpenLocal: %v", err)
	}
	return l
}

func TestLocal_DriverSuite(t *testing.T) {
	runDriverSuite(t, func(t *testing.T) Driver { return newLocal(t) })
}

func TestLocal_NamesItsKeyWithVersionAndAcceptsItByName(t *testing.T) {
	l := newLocal(t)
	blob, keyID, err := l.Encrypt(context.Background(), LocalKeyID, []byte("v"), nil)
	if err != nil {
		t.Fatalf("Encrypt(%q): %v", LocalKeyID, err)
	}
	if keyID != "local/default/v1" {
		t.Errorf("key id = %q, want local/default/v1", keyID)
	}
	if blob[0] != blobFormat || !bytes.Equal(blob[1:5], []byte{0, 0, 0, 1}) {
		t.Errorf("blob header = %x, want format byte %#x and version 1", blob[:5], blobFormat)
	}
	if _, _, err := l.Encrypt(context.Background(), "local/default/v1", []byte("v"), nil); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Encrypt under a versioned id: error = %v, want ErrKeyNotFound (new data uses the current version)", err)
	}
}

func TestLocal_ContextEncodingIsUnambiguous(t *testing.T) {
	// Concatenating pairs would make these contexts equal; length prefixes keep them
	// apart. (local-kms concatenates, so this case is not part of the shared suite.)
	l := newLocal(t)
	ctx := context.Background()
	for _, tc := range []struct{ sealed, opened map[string]string }{
		{map[string]string{"ab": "c"}, map[string]string{"a": "bc"}},
		{map[string]string{"a": "b", "c": "d"}, map[string]string{"a": "bc", "": "d"}},
		{map[string]string{"a": ""}, nil},
	} {
		blob, _, err := l.Encrypt(ctx, "", []byte("v"), tc.sealed)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if _, _, err := l.Decrypt(ctx, blob, tc.opened); !errors.Is(err, ErrDecrypt) {
			t.Errorf("sealed with %v, opened with %v: error = %v, want ErrDecrypt", tc.sealed, tc.opened, err)
		}
	}
}

func TestLocal_RotateKeepsOldBlobsReadableAndEncryptsWithTheNewVersion(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	ec := map[string]string{"purpose": "test"}
	oldBlob, oldID, err := l.Encrypt(ctx, "", []byte("before"), ec)
	if err != nil {
		t.Fatal(err)
	}
	oldDK, oldDKBlob, _, err := l.GenerateDataKey(ctx, "", ec)
	if err != nil {
		t.Fatal(err)
	}

	v, err := l.Rotate()
	if err != nil || v != 2 {
		t.Fatalf("Rotate = %d, %v; want version 2", v, err)
	}

	newBlob, newID, err := l.Encrypt(ctx, "", []byte("after"), ec)
	if err != nil {
		t.Fatal(err)
	}
	if oldID != "local/default/v1" || newID != "local/default/v2" {
		t.Errorf("key ids = %q then %q, want local/default/v1 then local/default/v2", oldID, newID)
	}
	if got, id, err := l.Decrypt(ctx, oldBlob, ec); err != nil || string(got) != "before" || id != "local/default/v1" {
		t.Errorf("old blob: Decrypt = %q, %q, %v; want \"before\" from v1", got, id, err)
	}
	if got, _, err := l.Decrypt(ctx, oldDKBlob, ec); err != nil || !bytes.Equal(got, oldDK) {
		t.Errorf("old data key: Decrypt = %x, %v; want %x", got, err, oldDK)
	}
	if got, id, err := l.Decrypt(ctx, newBlob, ec); err != nil || string(got) != "after" || id != "local/default/v2" {
		t.Errorf("new blob: Decrypt = %q, %q, %v; want \"after\" from v2", got, id, err)
	}
}

func TestLocal_ReopeningKeepsEveryKeyVersion(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	first, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	v1Blob, _, _ := first.Encrypt(ctx, "", []byte("one"), nil)
	if _, err := first.Rotate(); err != nil {
		t.Fatal(err)
	}
	v2Blob, _, _ := first.Encrypt(ctx, "", []byte("two"), nil)

	again, err := OpenLocal(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	for want, blob := range map[string][]byte{"one": v1Blob, "two": v2Blob} {
		if got, _, err := again.Decrypt(ctx, blob, nil); err != nil || string(got) != want {
			t.Errorf("after reopening: Decrypt = %q, %v; want %q", got, err, want)
		}
	}
	if _, id, _ := again.Encrypt(ctx, "", []byte("x"), nil); id != "local/default/v2" {
		t.Errorf("after reopening, new data uses %q, want local/default/v2", id)
	}
}

func TestLocal_KeyringIsOwnerOnlyAndLeavesNoTempFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	l, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyringFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("keyring mode = %04o, want 0600", perm)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("keyring folder mode = %04o, want 0700", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != KeyringFile {
		t.Errorf("folder holds %v, want only %s", entries, KeyringFile)
	}
}

func TestLocal_RefusesAKeyringOthersCanAccess(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		dir := t.TempDir()
		if _, err := OpenLocal(dir); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, KeyringFile)
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := OpenLocal(dir)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), "other users") {
			t.Errorf("mode %04o: OpenLocal error = %v, want a refusal saying how to fix it", mode, err)
		}
	}
}

func TestLocal_RefusesADamagedKeyringAndLeavesItAlone(t *testing.T) {
	for name, content := range map[string]string{
		"not json":       "{",
		"no keys":        `{"keys":[]}`,
		"short key":      `{"keys":[{"version":1,"material":"AAAA"}]}`,
		"versions reuse": `{"keys":[{"version":1,"material":"` + strings.Repeat("A", 43) + `="},{"version":1,"material":"` + strings.Repeat("A", 43) + `="}]}`,
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, KeyringFile)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenLocal(dir); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: OpenLocal error = %v, want one naming the keyring", name, err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("%s: keyring was rewritten to %q; a damaged keyring must never be replaced", name, got)
		}
	}
}

func TestLocal_BlobOfAnotherKeyringFailsWithErrDecrypt(t *testing.T) {
	a, b := newLocal(t), newLocal(t)
	blob, _, err := a.Encrypt(context.Background(), "", []byte("mine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pt, _, err := b.Decrypt(context.Background(), blob, nil); !errors.Is(err, ErrDecrypt) || pt != nil {
		t.Errorf("Decrypt with another keyring = %q, %v; want ErrDecrypt", pt, err)
	}
}

func TestLocal_RotateDuringUseIsSafe(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 3 {
			if _, err := l.Rotate(); err != nil {
				t.Error(err)
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 50 {
				blob, _, err := l.Encrypt(ctx, "", []byte("v"), nil)
				if err != nil {
					t.Error(err)
					return
				}
				if got, _, err := l.Decrypt(ctx, blob, nil); err != nil || string(got) != "v" {
					t.Errorf("Decrypt = %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, id, _ := l.Encrypt(ctx, "", []byte("v"), nil); id != "local/default/v4" {
		t.Errorf("after three rotations new data uses %q, want local/default/v4", id)
	}
}
