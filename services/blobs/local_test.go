package blobs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func newLocal(t testing.TB) *Local {
	t.Helper()
	l, err := OpenLocal(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocal_DriverSuite(t *testing.T) {
	runDriverSuite(t, func(t *testing.T) Driver { return newLocal(t) })
}

// files lists every file and folder under root with its mode, relative paths.
func files(t *testing.T, root string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = fi.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tempFiles(t *testing.T, root string) []string {
	var temps []string
	for p := range files(t, root) {
		if strings.HasPrefix(filepath.Base(p), tempPrefix) {
			temps = append(temps, p)
		}
	}
	return temps
}

func TestLocal_FilesAreOwnerOnlyAndNamedByTheKeysDigest(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	for _, key := range []string{"records/2026/doc-1", "a", "a/b"} {
		if _, err := l.Put(ctx, key, strings.NewReader("ciphertext"), 0); err != nil {
			t.Fatal(err)
		}
	}
	layout := regexp.MustCompile(`^[0-9a-f]{2}(/[0-9a-f]{64})?$`)
	got := files(t, l.root)
	if got["."] != fs.ModeDir|0o700 {
		t.Errorf("store folder mode = %v, want drwx------", got["."])
	}
	delete(got, ".")
	if len(got) < 4 {
		t.Fatalf("store holds %v, want three objects in their folders", got)
	}
	for p, mode := range got {
		if !layout.MatchString(filepath.ToSlash(p)) {
			t.Errorf("%s: not <2 hex>/<64 hex>: a key shaped the path", p)
		}
		want := fs.FileMode(0o600)
		if mode.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if mode != want {
			t.Errorf("%s: mode %v, want %v", p, mode, want)
		}
	}
}

func TestLocal_PathsStayUnderTheRootWhateverTheKey(t *testing.T) {
	l := newLocal(t)
	for _, key := range []string{"../../etc/passwd", "/etc/passwd", "a/../../..", strings.Repeat("../", 100), "\x00"} {
		p := l.path(key)
		rel, err := filepath.Rel(l.root, p)
		if err != nil || strings.HasPrefix(rel, "..") || strings.Count(filepath.ToSlash(rel), "/") != 1 {
			t.Errorf("path(%q) = %s: outside the root or not two levels down", key, p)
		}
	}
}

func TestLocal_FailedPutsLeaveNoTemporaryFile(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	if _, err := l.Put(ctx, "broken", failingReader(testBytes(1<<20, 1), 300_000), 0); !errors.Is(err, errReaderBroke) {
		t.Fatalf("Put from a failing reader: %v", err)
	}
	if _, err := l.Put(ctx, "too-big", bytes.NewReader(testBytes(2000, 1)), 1000); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized Put: %v", err)
	}
	if temps := tempFiles(t, l.root); len(temps) != 0 {
		t.Errorf("temporary files left behind: %v", temps)
	}
}

func TestLocal_OpenRemovesOnlyStaleTemporaryFiles(t *testing.T) {
	l := newLocal(t)
	dir := filepath.Join(l.root, "ab")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(dir, tempPrefix+"crashed"), filepath.Join(dir, tempPrefix+"running")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTempAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLocal(l.root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a recent temporary file (a Put of another process, maybe) was removed: %v", err)
	}
}

func TestLocal_DamagedFilesAreErrorsNeverWrongData(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"header bit flipped", func(b []byte) []byte { b[20] ^= 1; return b }},
		{"digest bit flipped", func(b []byte) []byte { b[40] ^= 1; return b }},
		{"truncated body", func(b []byte) []byte { return b[:len(b)-1] }},
		{"byte appended", func(b []byte) []byte { return append(b, 0) }},
		{"truncated header", func(b []byte) []byte { return b[:30] }},
		{"empty file", func([]byte) []byte { return nil }},
	} {
		l := newLocal(t)
		if _, err := l.Put(ctx, "doc", bytes.NewReader(testBytes(500, 1)), 0); err != nil {
			t.Fatal(err)
		}
		p := l.path("doc")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, tc.damage(b), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Head(ctx, "doc"); err == nil || errors.Is(err, ErrNotFound) || !errors.Is(err, errBadFile) {
			t.Errorf("%s: Head error = %v, want a damaged-file error", tc.name, err)
		}
		if _, _, err := l.Get(ctx, "doc"); err == nil || !errors.Is(err, errBadFile) {
			t.Errorf("%s: Get error = %v, want a damaged-file error", tc.name, err)
		}
	}
}

func TestLocal_FileOfAnotherKeyIsRefused(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	for _, key := range []string{"one", "two"} {
		if _, err := l.Put(ctx, key, strings.NewReader(key), 0); err != nil {
			t.Fatal(err)
		}
	}
	// A file copied by hand under another key's name is caught by the key in its header.
	b, err := os.ReadFile(l.path("one"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.path("two"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Head(ctx, "two"); !errors.Is(err, errBadFile) {
		t.Errorf("Head of a file holding another key: error = %v, want errBadFile", err)
	}
}

func TestLocal_OpenReaderKeepsItsVersionThroughOverwriteAndDelete(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	first := testBytes(300_000, 1)
	if _, err := l.Put(ctx, "doc", bytes.NewReader(first), 0); err != nil {
		t.Fatal(err)
	}
	rc, _, err := l.Get(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := l.Put(ctx, "doc", strings.NewReader("second"), 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Delete(ctx, "doc"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, first) {
		t.Errorf("open reader returned %d bytes, %v; want the version it opened (%d bytes)", len(got), err, len(first))
	}
}
