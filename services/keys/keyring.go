package keys

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// KeyringFile is the name of the local driver's keyring inside its folder.
const KeyringFile = "master-keys.json"

// keyring is the JSON content of KeyringFile: every master key version ever made,
// oldest first. Versions are never removed, so every blob stays readable.
type keyring struct {
	Keys []masterKey `json:"keys"`
}

type masterKey struct {
	Version  uint32    `json:"version"`
	Created  time.Time `json:"created"`
	Material []byte    `json:"material"` // 32 bytes, base64 in JSON
}

func newMasterKey(v uint32) masterKey {
	k := masterKey{Version: v, Created: time.Now().UTC().Truncate(time.Second), Material: make([]byte, 32)}
	_, _ = rand.Read(k.Material) // crypto/rand.Read never returns an error; it crashes instead
	return k
}

func (r keyring) validate() error {
	if len(r.Keys) == 0 {
		return errors.New("it holds no key")
	}
	var last uint32
	for _, k := range r.Keys {
		if k.Version <= last {
			return fmt.Errorf("key version %d follows version %d: versions must increase", k.Version, last)
		}
		if len(k.Material) != 32 {
			return fmt.Errorf("key version %d has %d bytes, want 32", k.Version, len(k.Material))
		}
		last = k.Version
	}
	return nil
}

// readKeyring reads and checks the keyring at path. The error wraps fs.ErrNotExist
// when there is none yet.
func readKeyring(path string) (keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return keyring{}, err
	}
	defer f.Close()
	// Check the opened file, not the path, so the check and the read see the same file.
	fi, err := f.Stat()
	if err != nil {
		return keyring{}, err
	}
	if err := checkPrivate(path, fi); err != nil {
		return keyring{}, err
	}
	var r keyring
	if err := json.NewDecoder(f).Decode(&r); err != nil {
		return keyring{}, fmt.Errorf("keys: read keyring %s: %w", path, err)
	}
	if err := r.validate(); err != nil {
		return keyring{}, fmt.Errorf("keys: keyring %s is damaged: %w", path, err)
	}
	return r, nil
}

// checkPrivate refuses a keyring that anyone but its owner could read or change.
func checkPrivate(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("keys: keyring %s is not a regular file", path)
	}
	if runtime.GOOS == "windows" { // no POSIX permission bits to check there
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("keys: keyring %s has mode %04o, so other users may read or change the master keys; "+
			"make it private to its owner (chmod 600 %s) and consider every key in it exposed", path, perm, path)
	}
	return nil
}

// createKeyring writes the first keyring. It never replaces an existing file: when
// another process got there first the error wraps fs.ErrExist, and the caller reads
// that one instead, so no two processes ever hold different first keys.
func createKeyring(path string, r keyring) error {
	tmp, err := writeTemp(path, r)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// replaceKeyring atomically replaces the keyring: a reader sees the old file or the
// new one, never a partial write, even after a crash.
func replaceKeyring(path string, r keyring) error {
	tmp, err := writeTemp(path, r)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keys: replace keyring: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// writeTemp writes r to a new owner-only file next to path and flushes it to disk.
func writeTemp(path string, r keyring) (string, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+KeyringFile+".*.tmp") // mode 0600
	if err != nil {
		return "", fmt.Errorf("keys: write keyring: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("keys: write keyring: %w", err)
	}
	return f.Name(), nil
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" { // directories cannot be opened for sync there
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keys: sync %s: %w", dir, err)
	}
	return nil
}
