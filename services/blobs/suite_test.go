package blobs

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// runDriverSuite checks the Driver contract. Every driver runs it: the local one in a
// temporary folder and the S3 one against an S3 server on loopback, with its part size
// at the 5 MiB minimum so that objects past 5 MiB take the multipart path.
func runDriverSuite(t *testing.T, newDriver func(t *testing.T) Driver) {
	ctx := context.Background()
	// Each case has a driver of its own, so they run in parallel.
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t)
		})
	}

	run("ObjectsRoundTripWithSizeAndDigest", func(t *testing.T) {
		d := newDriver(t)
		for _, size := range []int{0, 1, 1000, 5<<20 - 1, 5 << 20, 5<<20 + 1, 11<<20 + 7} {
			key := fmt.Sprintf("objects/size-%d", size)
			data := testBytes(size, uint64(size))
			before := time.Now().UTC()
			// HalfReader hands the driver short reads, as a network stream does.
			info, err := d.Put(ctx, key, iotest.HalfReader(bytes.NewReader(data)), 0)
			after := time.Now().UTC()
			if err != nil {
				t.Fatalf("Put of %d bytes: %v", size, err)
			}
			want := ObjectInfo{Key: key, Size: int64(size), SHA256: sha256Hex(data)}
			if info.Key != want.Key || info.Size != want.Size || info.SHA256 != want.SHA256 {
				t.Errorf("Put of %d bytes = %+v, want %+v", size, info, want)
			}
			if info.CreateTime.Before(before) || info.CreateTime.After(after) || info.CreateTime.Location() != time.UTC {
				t.Errorf("Put of %d bytes: create time %v, want UTC between %v and %v", size, info.CreateTime, before, after)
			}
			if head, err := d.Head(ctx, key); err != nil || !sameInfo(head, info) {
				t.Errorf("Head of %d bytes = %+v, %v; want %+v", size, head, err, info)
			}
			got, gotInfo := get(t, d, key)
			if !bytes.Equal(got, data) {
				t.Errorf("Get of %d bytes returned %d bytes (digest %s), want the stored ones", size, len(got), sha256Hex(got))
			}
			if !sameInfo(gotInfo, info) {
				t.Errorf("Get of %d bytes: info %+v, want %+v", size, gotInfo, info)
			}
		}
	})

	run("ObjectOfExactlyMaxBytesIsStored", func(t *testing.T) {
		d := newDriver(t)
		for _, size := range []int{0, 10, 5 << 20, 5<<20 + 1} {
			key := fmt.Sprintf("exact/%d", size)
			info, err := d.Put(ctx, key, bytes.NewReader(testBytes(size, 1)), int64(size))
			if err != nil || info.Size != int64(size) {
				t.Errorf("Put of %d bytes with max_bytes %d = %+v, %v; want it stored", size, size, info, err)
			}
		}
	})

	run("OverMaxBytesIsErrTooLargeAndStoresNothing", func(t *testing.T) {
		d := newDriver(t)
		for _, tc := range []struct {
			name     string
			size     int
			maxBytes int64
		}{
			{"one byte over", 11, 10},
			{"within the limit", 1, 1}, // control: stored
			{"past the first part", 6 << 20, 5<<20 + 10},
			{"many parts over", 16 << 20, 11 << 20},
		} {
			key := "too-large/" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := d.Put(ctx, key, bytes.NewReader(testBytes(tc.size, 2)), tc.maxBytes)
			if int64(tc.size) <= tc.maxBytes {
				if err != nil {
					t.Errorf("%s: Put within the limit: %v", tc.name, err)
				}
				continue
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s: Put error = %v, want ErrTooLarge", tc.name, err)
			}
			if _, err := d.Head(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: Head after a refused Put: error = %v, want ErrNotFound", tc.name, err)
			}
		}
	})

	run("FailedPutLeavesTheOldObjectAsItWas", func(t *testing.T) {
		d := newDriver(t)
		old := testBytes(3000, 3)
		if _, err := d.Put(ctx, "kept", bytes.NewReader(old), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Put(ctx, "kept", bytes.NewReader(testBytes(6<<20, 4)), 5<<20); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("oversized Put: error = %v, want ErrTooLarge", err)
		}
		if _, err := d.Put(ctx, "kept", failingReader(testBytes(7<<20, 5), 6<<20), 0); err == nil {
			t.Fatal("Put from a failing reader succeeded")
		}
		if got, _ := get(t, d, "kept"); !bytes.Equal(got, old) {
			t.Errorf("after failed Puts the object has %d bytes, want the old %d", len(got), len(old))
		}
	})

	run("InterruptedReaderFailsAndStoresNothing", func(t *testing.T) {
		d := newDriver(t)
		for _, tc := range []struct {
			size, failAt int
		}{{1000, 500}, {0, 0}, {10 << 20, 5 << 20}, {12 << 20, 7 << 20}} {
			key := fmt.Sprintf("interrupted/%d-%d", tc.size, tc.failAt)
			_, err := d.Put(ctx, key, failingReader(testBytes(tc.size, 6), tc.failAt), 0)
			if !errors.Is(err, errReaderBroke) {
				t.Errorf("Put of %d bytes failing at %d: error = %v, want the reader's error", tc.size, tc.failAt, err)
			}
			if _, err := d.Head(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Head after an interrupted Put: error = %v, want ErrNotFound", err)
			}
		}
	})

	run("CancelledContextStoresNothing", func(t *testing.T) {
		d := newDriver(t)
		for _, size := range []int{100, 6 << 20} {
			cctx, cancel := context.WithCancel(ctx)
			r := &cancellingReader{r: bytes.NewReader(testBytes(size, 7)), cancelAt: int64(size / 2), cancel: cancel}
			_, err := d.Put(cctx, "cancelled", r, 0)
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Put of %d bytes cancelled half-way: error = %v, want context.Canceled", size, err)
			}
			if _, err := d.Head(ctx, "cancelled"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Head after a cancelled Put: error = %v, want ErrNotFound", err)
			}
		}
	})

	run("OverwriteReplacesTheObject", func(t *testing.T) {
		d := newDriver(t)
		first, second := testBytes(6<<20, 8), testBytes(100, 9)
		if _, err := d.Put(ctx, "doc", bytes.NewReader(first), 0); err != nil {
			t.Fatal(err)
		}
		info, err := d.Put(ctx, "doc", bytes.NewReader(second), 0)
		if err != nil {
			t.Fatal(err)
		}
		got, gotInfo := get(t, d, "doc")
		if !bytes.Equal(got, second) || gotInfo.SHA256 != sha256Hex(second) || gotInfo.Size != 100 || !sameInfo(gotInfo, info) {
			t.Errorf("after overwrite Get = %d bytes %+v, want the second object %+v", len(got), gotInfo, info)
		}
	})

	run("DeletedObjectIsNotFound", func(t *testing.T) {
		d := newDriver(t)
		if _, err := d.Put(ctx, "gone", strings.NewReader("bytes"), 0); err != nil {
			t.Fatal(err)
		}
		if err := d.Delete(ctx, "gone"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if rc, _, err := d.Get(ctx, "gone"); !errors.Is(err, ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Get after Delete: error = %v, want ErrNotFound", err)
		}
		if _, err := d.Head(ctx, "gone"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Head after Delete: error = %v, want ErrNotFound", err)
		}
	})

	run("DeletingAMissingObjectSucceeds", func(t *testing.T) {
		d := newDriver(t)
		for _, key := range []string{"never-stored", "never/stored/either"} {
			if err := d.Delete(ctx, key); err != nil {
				t.Errorf("Delete(%q) = %v, want nil", key, err)
			}
		}
		if _, _, err := d.Get(ctx, "never-stored"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get of a missing object: error = %v, want ErrNotFound", err)
		}
	})

	run("KeysWithSlashesAreDistinctObjects", func(t *testing.T) {
		d := newDriver(t)
		// Keys that are prefixes of others, or differ only in slashes, are all distinct.
		keys := []string{"records", "records/2026", "records/2026/doc-1", "records/2026/doc-1/v2", "a/b", "a//b", "a/", "a_b", "a-b"}
		for i, key := range keys {
			if _, err := d.Put(ctx, key, bytes.NewReader(testBytes(100+i, uint64(i))), 0); err != nil {
				t.Fatalf("Put(%q): %v", key, err)
			}
		}
		for i, key := range keys {
			got, info := get(t, d, key)
			if !bytes.Equal(got, testBytes(100+i, uint64(i))) || info.Key != key {
				t.Errorf("Get(%q) = %d bytes under %q, want its own %d bytes", key, len(got), info.Key, 100+i)
			}
		}
		if err := d.Delete(ctx, "records/2026"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Head(ctx, "records/2026/doc-1"); err != nil {
			t.Errorf("deleting records/2026 touched records/2026/doc-1: %v", err)
		}
	})

	run("InvalidKeysAreRefused", func(t *testing.T) {
		d := newDriver(t)
		for _, key := range []string{"", "../etc/passwd", "a/../../b", "/abs", "Upper", ".hidden", "a\x00b", "-dash", "a b", strings.Repeat("k", 513)} {
			if _, err := d.Put(ctx, key, strings.NewReader("x"), 0); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put(%q): error = %v, want ErrInvalidKey", key, err)
			}
			if _, _, err := d.Get(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Get(%q): error = %v, want ErrInvalidKey", key, err)
			}
			if _, err := d.Head(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Head(%q): error = %v, want ErrInvalidKey", key, err)
			}
			if err := d.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Delete(%q): error = %v, want ErrInvalidKey", key, err)
			}
		}
		if _, err := d.Put(ctx, strings.Repeat("k", 512), strings.NewReader("x"), 0); err != nil {
			t.Errorf("Put of a 512-character key: %v", err)
		}
	})

	run("ConcurrentPutsOfDifferentKeysEachKeepTheirBytes", func(t *testing.T) {
		d := newDriver(t)
		const workers, each = 6, 3
		var wg sync.WaitGroup
		errc := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					key := fmt.Sprintf("concurrent/%d/%d", w, i)
					size := (w*each + i) * 97_003 // 0 to ~1.6 MiB
					if w == 0 && i == 0 {
						size = 5<<20 + 3 // one multipart upload among them
					}
					data := testBytes(size, uint64(w*100+i))
					info, err := d.Put(ctx, key, bytes.NewReader(data), 0)
					if err != nil || info.SHA256 != sha256Hex(data) {
						errc <- fmt.Errorf("Put(%s) = %+v, %v", key, info, err)
						continue
					}
					rc, _, err := d.Get(ctx, key)
					if err != nil {
						errc <- fmt.Errorf("Get(%s): %v", key, err)
						continue
					}
					got, err := io.ReadAll(rc)
					rc.Close()
					if err != nil || !bytes.Equal(got, data) {
						errc <- fmt.Errorf("Get(%s) = %d bytes, %v; want its %d bytes", key, len(got), err, len(data))
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

// get reads a whole object, failing the test on any error.
func get(t *testing.T, d Driver, key string) ([]byte, ObjectInfo) {
	t.Helper()
	rc, info, err := d.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return b, info
}

func sameInfo(a, b ObjectInfo) bool {
	return a.Key == b.Key && a.Size == b.Size && a.SHA256 == b.SHA256 && a.CreateTime.Equal(b.CreateTime)
}

// testBytes returns n pseudo-random bytes, the same for the same seed.
func testBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	_, _ = io.ReadFull(testStream(seed), b)
	return b
}

// testStream yields endless pseudo-random bytes, the same for the same seed: an AES-CTR
// key stream, which assembly makes fast even under the race detector.
func testStream(seed uint64) io.Reader {
	key := make([]byte, 16)
	binary.BigEndian.PutUint64(key, seed)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	return cipher.StreamReader{S: cipher.NewCTR(block, make([]byte, aes.BlockSize)), R: zeros{}}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var errReaderBroke = errors.New("test reader: connection reset")

// failingReader yields the first failAt bytes of data, then fails.
func failingReader(data []byte, failAt int) io.Reader {
	return io.MultiReader(bytes.NewReader(data[:failAt]), iotest.ErrReader(errReaderBroke))
}

// cancellingReader cancels its context once cancelAt bytes have been read, and goes on
// yielding bytes: only the context tells the driver to stop.
type cancellingReader struct {
	r        io.Reader
	n        int64
	cancelAt int64
	cancel   context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.cancelAt {
		c.cancel()
	}
	return n, err
}
