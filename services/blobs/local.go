package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Local is the development driver: one file per object under a folder of the data
// folder (<data-dir>/blobs), owner-only (folders 0700, files 0600).
//
// Layout. A key names its file through its SHA-256: key k lives in
// <root>/<h[:2]>/<h> with h = hex(sha256(k)). No key can reach outside the root however
// it is spelt, keys that are prefixes of others ("a" and "a/b") never collide as file
// and folder, and folders stay few (256) and shallow.
//
// Format. Each file starts with a header (see localfile.go) that holds the object's
// size, SHA-256, store time and key, then the object's bytes. The digest is computed
// while the bytes stream in and written into the header last, so Head reads a few
// bytes instead of hashing the object again, and the metadata changes atomically with
// the bytes because it is in the same file.
//
// Atomicity. Put writes a temporary file (".put-…") in the object's folder, syncs it,
// renames it over the object and syncs the folder: readers see the old object or the
// new one, and a crash leaves at worst a temporary file, which OpenLocal removes once
// it is an hour old. A failed or interrupted Put removes its temporary file at once.
// A reader that has opened an object keeps reading that version even if it is
// replaced or deleted meanwhile.
type Local struct {
	root string
	bufs sync.Pool // *[]byte copy buffers
}

var _ Driver = (*Local)(nil)

const (
	tempPrefix   = ".put-"
	staleTempAge = time.Hour
	copyBufSize  = 256 << 10
)

// OpenLocal opens the store in dir, creating dir (mode 0700) when missing, and removes
// temporary files that a crashed Put left there more than an hour ago.
func OpenLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blobs: create store folder: %w", err)
	}
	l := &Local{root: dir}
	l.bufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	if err := l.removeStaleTemps(time.Now().Add(-staleTempAge)); err != nil {
		return nil, err
	}
	return l, nil
}

// path returns the file of key, always two levels under the root.
func (l *Local) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(l.root, h[:2], h)
}

// Put implements Driver.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	path := l.path(key)
	dir := filepath.Dir(path)
	if err := l.ensureDir(dir); err != nil {
		return ObjectInfo{}, err
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*") // mode 0600
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("blobs: create temporary file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	h := fileHeader{key: key}
	if _, err := f.Write(make([]byte, h.len())); err != nil { // the header's place, filled in last
		return ObjectInfo{}, fmt.Errorf("blobs: write %s: %w", f.Name(), err)
	}
	m := newMeter(r, maxBytes)
	buf := l.bufs.Get().(*[]byte)
	_, err = io.CopyBuffer(writerOnly{f}, ctxReader{ctx, m}, *buf)
	l.bufs.Put(buf)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("blobs: store %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	h.size, h.sha256, h.created = m.n, m.h.Sum(nil), time.Now().UTC()
	if _, err := f.WriteAt(h.encode(), 0); err != nil {
		return ObjectInfo{}, fmt.Errorf("blobs: write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return ObjectInfo{}, fmt.Errorf("blobs: sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return ObjectInfo{}, fmt.Errorf("blobs: close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return ObjectInfo{}, fmt.Errorf("blobs: store %s: %w", key, err)
	}
	committed = true
	// The rename is visible now; the folder's sync makes it survive a power cut.
	if err := syncDir(dir); err != nil {
		return ObjectInfo{}, err
	}
	return h.info(), nil
}

// Get implements Driver.
func (l *Local) Get(_ context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	f, h, err := l.open(key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	return objectReader{io.NewSectionReader(f, int64(h.len()), h.size), f}, h.info(), nil
}

// Head implements Driver.
func (l *Local) Head(_ context.Context, key string) (ObjectInfo, error) {
	f, h, err := l.open(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	f.Close()
	return h.info(), nil
}

// Delete implements Driver.
func (l *Local) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	path := l.path(key)
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blobs: delete %s: %w", key, err)
	}
	return syncDir(filepath.Dir(path))
}

// open opens key's file and checks its header.
func (l *Local) open(key string) (*os.File, fileHeader, error) {
	if err := checkKey(key); err != nil {
		return nil, fileHeader{}, err
	}
	f, err := os.Open(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fileHeader{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fileHeader{}, fmt.Errorf("blobs: open %s: %w", key, err)
	}
	h, err := readHeader(f, key)
	if err != nil {
		f.Close()
		return nil, fileHeader{}, fmt.Errorf("blobs: object %s (%s): %w", key, f.Name(), err)
	}
	return f, h, nil
}

// ensureDir creates an object folder, syncing the root when it is new so the folder
// survives a crash along with the file renamed into it.
func (l *Local) ensureDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blobs: create folder: %w", err)
	}
	return syncDir(l.root)
}

// removeStaleTemps deletes temporary files last written before cutoff: what crashed
// Puts left. Younger ones may belong to a Put still running in another process.
func (l *Local) removeStaleTemps(cutoff time.Time) error {
	dirs, err := os.ReadDir(l.root)
	if err != nil {
		return fmt.Errorf("blobs: read store folder: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(l.root, d.Name()))
		if err != nil {
			return fmt.Errorf("blobs: read store folder: %w", err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), tempPrefix) {
				continue
			}
			if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
				if err := os.Remove(filepath.Join(l.root, d.Name(), e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("blobs: remove stale temporary file: %w", err)
				}
			}
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blobs: sync folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("blobs: sync folder: %w", err)
	}
	return nil
}

// objectReader reads an object's bytes and closes its file.
type objectReader struct {
	io.Reader
	io.Closer
}

// writerOnly hides *os.File's ReadFrom, so io.CopyBuffer uses the pooled buffer
// instead of allocating one per Put.
type writerOnly struct{ io.Writer }

// ctxReader stops a copy once ctx ends, between reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
