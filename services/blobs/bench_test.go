package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
)

// heapSampler records, while it runs, the largest heap seen in two ways: live, the
// bytes the last garbage collection found reachable (what a leak or a whole object
// held in memory shows in), and total, live plus garbage not yet collected (what the
// process needs, at the default GOGC). It samples every half millisecond through
// runtime/metrics, which does not stop the world as runtime.ReadMemStats does.
type heapSampler struct {
	baseLive, baseTotal uint64
	peakLive, peakTotal uint64
	stop                chan struct{}
	done                sync.WaitGroup
}

func heapNow() (live, total uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{})}
	h.baseLive, h.baseTotal = heapNow()
	h.done.Go(func() {
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			live, total := heapNow()
			h.peakLive, h.peakTotal = max(h.peakLive, live), max(h.peakTotal, total)
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	})
	return h
}

// growth stops sampling and returns how far the live and the total heap rose above
// where they started.
func (h *heapSampler) growth() (live, total uint64) {
	close(h.stop)
	h.done.Wait()
	return sub(h.peakLive, h.baseLive), sub(h.peakTotal, h.baseTotal)
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// objectStream yields size pseudo-random bytes without holding them.
func objectStream(size int64, seed byte) io.Reader {
	return io.LimitReader(testStream(uint64(seed)), size)
}

// putGet stores size bytes through the service in 1 MiB chunks and streams them back,
// checking the digest: the round trip a records upload and download make.
func putGet(ctx context.Context, client blobsv1connect.BlobsServiceClient, key string, size int64, seed byte) error {
	info, err := put(ctx, client, key, 0, objectStream(size, seed), 1<<20)
	if err != nil {
		return fmt.Errorf("Put: %w", err)
	}
	stream, err := client.Get(ctx, connect.NewRequest(&blobsv1.GetRequest{Key: key}))
	if err != nil {
		return fmt.Errorf("Get: %w", err)
	}
	defer stream.Close()
	h := sha256.New()
	var n int64
	for stream.Receive() {
		h.Write(stream.Msg().GetChunk())
		n += int64(len(stream.Msg().GetChunk()))
	}
	if err := stream.Err(); err != nil {
		return fmt.Errorf("Get: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != info.GetSha256() {
		return fmt.Errorf("Get returned %d bytes with digest %s, want %d with %s", n, got, size, info.GetSha256())
	}
	return nil
}

// TestService_MemoryStaysFlatWhateverTheObjectSize streams objects of 2 MiB and 48 MiB
// through the service (client and server in this process; for S3, the fake server in
// a child process) and checks that the live heap does not rise with the object's
// size. It needs a build without the race detector, which makes it slow and its
// figures meaningless (the race runtime's pools drop buffers at random); the
// streaming tests in service_test.go prove the mechanism under any build.
func TestService_MemoryStaysFlatWhateverTheObjectSize(t *testing.T) {
	if raceEnabled {
		t.Skip("memory figures mean nothing under the race detector; run without -race")
	}
	for _, tc := range []struct {
		name  string
		open  func(t *testing.T) Driver
		bound uint64 // live heap rise allowed for the 48 MiB object
	}{
		// A few 1 MiB messages per side and the pools that hold them; seen up to 16 MiB.
		{"local", func(t *testing.T) Driver { return newLocal(t) }, 24 << 20},
		// Plus one 5 MiB part buffer, which its pool may keep alive through one more
		// collection while a new one is in use.
		{"s3", func(t *testing.T) Driver { return newS3(t, testS3Config(startS3Process(t))) }, 32 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := grpcClient(t, serveBlobs(t, tc.open(t)))
			ctx := context.Background()
			if err := putGet(ctx, client, "warm-up", 1<<20, 0); err != nil { // connection, pools
				t.Fatal(err)
			}
			for _, size := range []int64{2 << 20, 48 << 20} {
				h := startHeapSampler()
				err := putGet(ctx, client, "flat", size, 1)
				live, total := h.growth()
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("object of %d MiB: live heap rose %.1f MiB at most, heap with uncollected garbage %.1f MiB", size>>20, mib(live), mib(total))
				// Held whole, a 48 MiB object would raise the live heap by 48 MiB.
				if size == 48<<20 && live > tc.bound {
					t.Errorf("live heap rose %.1f MiB for a 48 MiB object: memory follows the object's size", mib(live))
				}
			}
		})
	}
}

// benchmarkPutGet measures Put-then-Get round trips through the whole server stack
// (gRPC over h2c on loopback, every interceptor) for 1 MiB and 16 MiB objects. Bytes
// per second count the object once per round trip; peak-heap-MiB is how far the heap
// rose above its starting point during the run, client and server together
// (peak-live-MiB: reachable memory only).
func benchmarkPutGet(b *testing.B, d Driver) {
	client := grpcClient(b, serveBlobs(b, d))
	ctx := context.Background()
	for _, size := range []int64{1 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			if err := putGet(ctx, client, "bench/warm-up", size, 0); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			h := startHeapSampler()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := putGet(ctx, client, fmt.Sprintf("bench/%d", i%4), size, byte(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			live, total := h.growth()
			b.ReportMetric(mib(live), "peak-live-MiB")
			b.ReportMetric(mib(total), "peak-heap-MiB")
		})
	}
}

func BenchmarkPutGet_Local(b *testing.B) {
	benchmarkPutGet(b, newLocal(b))
}

// BenchmarkPutGet_S3 runs the S3 driver, with its default part size, against gofakes3
// in a child process: the fake keeps objects in memory, which must not be counted
// with the driver's.
func BenchmarkPutGet_S3(b *testing.B) {
	cfg := testS3Config(startS3Process(b))
	cfg.PartSize = DefaultPartSize
	benchmarkPutGet(b, newS3(b, cfg))
}
