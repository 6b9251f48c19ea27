package blobs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const (
	testBucket = "healthcore-blobs-test"
	testRegion = "sa-east-1"
)

// fakeS3 is an S3 server on loopback: gofakes3 with its in-memory backend, speaking the
// S3 REST protocol. It records the requests it gets.
type fakeS3 struct {
	URL string
	mu  sync.Mutex
	log []s3Request
	// fail, when set, picks requests to answer with 403 AccessDenied (an error the SDK
	// does not retry): refused, or served and the answer lost.
	fail func(s3Request) failure
}

type failure int

const (
	serve failure = iota
	refuse
	loseAnswer
)

func (f *fakeS3) failWhen(pick func(s3Request) failure) {
	f.mu.Lock()
	f.fail = pick
	f.mu.Unlock()
}

// s3Request is what a test needs to know of one request to the fake S3.
type s3Request struct {
	Method, Path, Query string
	Length              int64
	SSE, SSEKeyID       string
	Copy                bool
	Checksum            string // any x-amz-checksum-*, x-amz-sdk-checksum-algorithm or x-amz-trailer header
}

func (f *fakeS3) requests() []s3Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]s3Request(nil), f.log...)
}

// startS3 serves a fresh fake S3 with an empty test bucket on 127.0.0.1 for the test.
func startS3(t testing.TB) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	f := &fakeS3{}
	faker := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checksum := ""
		for k := range r.Header {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-checksum-") || lk == "x-amz-sdk-checksum-algorithm" || lk == "x-amz-trailer" {
				checksum = k
			}
		}
		req := s3Request{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Length: r.ContentLength,
			SSE: r.Header.Get("X-Amz-Server-Side-Encryption"), SSEKeyID: r.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"),
			Copy: r.Header.Get("X-Amz-Copy-Source") != "", Checksum: checksum,
		}
		f.mu.Lock()
		f.log = append(f.log, req)
		fail := f.fail
		f.mu.Unlock()
		how := serve
		if fail != nil {
			how = fail(req)
		}
		if how == loseAnswer {
			faker.ServeHTTP(httptest.NewRecorder(), r)
		}
		if how == refuse {
			_, _ = io.Copy(io.Discard, r.Body) // as S3 does; unread, the client sees a reset
		}
		if how != serve {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		}
		faker.ServeHTTP(w, r)
	}))
	if host, _, _ := net.SplitHostPort(srv.Listener.Addr().String()); host != "127.0.0.1" {
		t.Fatalf("fake S3 listens on %s, want 127.0.0.1", host)
	}
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

var testCredentials = credentials.NewStaticCredentialsProvider("AKIDHEALTHCORETEST", "healthcore-test-secret", "")

// testS3Config addresses the fake S3 at url the way an S3-compatible store is
// addressed: custom endpoint, path style, static credentials, smallest part size.
func testS3Config(url string) S3Config {
	return S3Config{
		Bucket: testBucket, Region: testRegion, Endpoint: url, PathStyle: true,
		PartSize: MinPartSize, Credentials: testCredentials,
	}
}

func newS3(t testing.TB, cfg S3Config) *S3 {
	t.Helper()
	d, err := NewS3(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	return d
}

func TestS3_DriverSuite(t *testing.T) {
	runDriverSuite(t, func(t *testing.T) Driver { return newS3(t, testS3Config(startS3(t).URL)) })
}

// bucketKeys lists every object key in the test bucket, and every multipart upload
// still open.
func bucketKeys(t *testing.T, d *S3) (objects, uploads []string) {
	t.Helper()
	ctx := context.Background()
	list, err := d.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	for _, o := range list.Contents {
		objects = append(objects, aws.ToString(o.Key))
	}
	ups, err := d.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(testBucket)})
	if err != nil && strings.Contains(err.Error(), "NoSuchUpload") {
		return objects, nil // gofakes3's answer for a bucket that never had an upload
	}
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	for _, u := range ups.Uploads {
		uploads = append(uploads, aws.ToString(u.Key))
	}
	return objects, uploads
}

func TestS3_DigestAndCreateTimeAreObjectMetadata(t *testing.T) {
	f := startS3(t)
	d := newS3(t, testS3Config(f.URL))
	ctx := context.Background()
	for _, size := range []int{10, 5<<20 + 1} { // one PutObject; multipart then copy
		data := testBytes(size, 1)
		info, err := d.Put(ctx, "doc", bytes.NewReader(data), 0)
		if err != nil {
			t.Fatal(err)
		}
		out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String("doc")})
		if err != nil {
			t.Fatal(err)
		}
		if out.Metadata["sha256"] != sha256Hex(data) || aws.ToInt64(out.ContentLength) != int64(size) {
			t.Errorf("%d bytes: x-amz-meta-sha256 = %q, length %d; want %s, %d", size, out.Metadata["sha256"], aws.ToInt64(out.ContentLength), sha256Hex(data), size)
		}
		if out.Metadata["create-time"] != info.CreateTime.Format("2006-01-02T15:04:05.999999999Z07:00") {
			t.Errorf("%d bytes: x-amz-meta-create-time = %q, want %v", size, out.Metadata["create-time"], info.CreateTime)
		}
	}
}

func TestS3_LargeObjectsStreamInPartsAndLeaveOnlyTheObject(t *testing.T) {
	f := startS3(t)
	d := newS3(t, testS3Config(f.URL))
	if _, err := d.Put(context.Background(), "records/big", bytes.NewReader(testBytes(11<<20+1, 1)), 0); err != nil {
		t.Fatal(err)
	}
	var parts []int64
	var copied, staged bool
	for _, r := range f.requests() {
		if r.Checksum != "" {
			// A part's checksum makes S3 expect it again in CompleteMultipartUpload.
			t.Errorf("%s %s?%s sent checksum header %s", r.Method, r.Path, r.Query, r.Checksum)
		}
		switch {
		case r.Method == http.MethodPut && strings.Contains(r.Query, "partNumber="):
			parts = append(parts, r.Length)
		case r.Method == http.MethodPut && r.Copy:
			copied = r.Path == "/"+testBucket+"/records/big"
		case r.Method == http.MethodPut:
			t.Errorf("unexpected PutObject %s: a large object must go in parts", r.Path)
		case r.Method == http.MethodDelete && strings.HasPrefix(r.Path, "/"+testBucket+"/"+stagingFolder):
			staged = true
		}
	}
	// Each part is sent from one part-sized buffer: memory does not grow with the object.
	if want := []int64{5 << 20, 5 << 20, 1<<20 + 1}; len(parts) != 3 || parts[0] != want[0] || parts[1] != want[1] || parts[2] != want[2] {
		t.Errorf("parts sent = %v bytes, want %v", parts, want)
	}
	if !copied || !staged {
		t.Errorf("copied under the key: %v, staging object deleted: %v; want both", copied, staged)
	}
	if objects, uploads := bucketKeys(t, d); len(objects) != 1 || objects[0] != "records/big" || len(uploads) != 0 {
		t.Errorf("bucket holds %v with uploads %v open, want only records/big", objects, uploads)
	}
}

func TestS3_FailedPutsLeaveNoObjectAndNoOpenUpload(t *testing.T) {
	f := startS3(t)
	d := newS3(t, testS3Config(f.URL))
	ctx := context.Background()
	if _, err := d.Put(ctx, "broken", failingReader(testBytes(12<<20, 1), 11<<20), 0); !errors.Is(err, errReaderBroke) {
		t.Fatalf("Put from a failing reader: %v", err)
	}
	if _, err := d.Put(ctx, "too-big", bytes.NewReader(testBytes(12<<20, 1)), 6<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized Put: %v", err)
	}
	aborts := 0
	for _, r := range f.requests() {
		if r.Method == http.MethodDelete && strings.Contains(r.Query, "uploadId=") {
			aborts++
		}
	}
	if aborts != 2 {
		t.Errorf("%d multipart uploads aborted, want 2", aborts)
	}
	if objects, uploads := bucketKeys(t, d); len(objects) != 0 || len(uploads) != 0 {
		t.Errorf("after failed Puts the bucket holds %v with uploads %v open, want nothing", objects, uploads)
	}
}

func when(cond bool, f failure) failure {
	if cond {
		return f
	}
	return serve
}

func TestS3_StorageFailingMidUploadLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(s3Request) failure
	}{
		{"second part", func(r s3Request) failure { return when(strings.Contains(r.Query, "partNumber=2&"), refuse) }},
		{"completion", func(r s3Request) failure {
			return when(r.Method == http.MethodPost && strings.Contains(r.Query, "uploadId="), refuse)
		}},
		{"completion's answer", func(r s3Request) failure {
			return when(r.Method == http.MethodPost && strings.Contains(r.Query, "uploadId="), loseAnswer)
		}},
		{"copy under the key", func(r s3Request) failure { return when(r.Copy, refuse) }},
		{"single put", func(r s3Request) failure {
			return when(r.Method == http.MethodPut && r.Path == "/"+testBucket+"/small", refuse)
		}},
	} {
		f := startS3(t)
		d := newS3(t, testS3Config(f.URL))
		f.failWhen(tc.fail)
		key, size := "large", 11<<20
		if tc.name == "single put" {
			key, size = "small", 1000
		}
		_, err := d.Put(context.Background(), key, bytes.NewReader(testBytes(size, 1)), 0)
		if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("%s failing: Put error = %v, want S3's AccessDenied", tc.name, err)
		}
		f.failWhen(nil)
		if _, err := d.Head(context.Background(), key); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s failing: Head error = %v, want ErrNotFound", tc.name, err)
		}
		if objects, uploads := bucketKeys(t, d); len(objects) != 0 || len(uploads) != 0 {
			t.Errorf("%s failing: bucket holds %v with uploads %v open, want nothing", tc.name, objects, uploads)
		}
	}
}

func TestS3_PrefixIsPutBeforeEveryKey(t *testing.T) {
	f := startS3(t)
	cfg := testS3Config(f.URL)
	cfg.Prefix = "staging-env/blobs/"
	d := newS3(t, cfg)
	ctx := context.Background()
	for _, size := range []int{10, 5<<20 + 1} {
		data := testBytes(size, 1)
		if _, err := d.Put(ctx, "records/doc", bytes.NewReader(data), 0); err != nil {
			t.Fatal(err)
		}
		if objects, _ := bucketKeys(t, d); len(objects) != 1 || objects[0] != "staging-env/blobs/records/doc" {
			t.Errorf("%d bytes: bucket holds %v, want staging-env/blobs/records/doc", size, objects)
		}
		if got, info := get(t, d, "records/doc"); !bytes.Equal(got, data) || info.Key != "records/doc" {
			t.Errorf("%d bytes: Get = %d bytes under %q", size, len(got), info.Key)
		}
		if info, err := d.Head(ctx, "records/doc"); err != nil || info.SHA256 != sha256Hex(data) {
			t.Errorf("%d bytes: Head = %+v, %v", size, info, err)
		}
	}
	if err := d.Delete(ctx, "records/doc"); err != nil {
		t.Fatal(err)
	}
	if objects, _ := bucketKeys(t, d); len(objects) != 0 {
		t.Errorf("after Delete the bucket holds %v", objects)
	}
	for _, r := range f.requests() {
		if r.Path != "/"+testBucket && r.Path != "/"+testBucket+"/" && !strings.HasPrefix(r.Path, "/"+testBucket+"/staging-env/blobs/") {
			t.Errorf("request %s %s outside the prefix", r.Method, r.Path)
		}
	}
}

func TestS3_SSEKMSIsAskedOnEveryWriteOnlyWhenConfigured(t *testing.T) {
	for _, keyID := range []string{"", "arn:aws:kms:sa-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"} {
		f := startS3(t)
		cfg := testS3Config(f.URL)
		cfg.SSEKMSKeyID = keyID
		d := newS3(t, cfg)
		for _, size := range []int{10, 5<<20 + 1} {
			if _, err := d.Put(context.Background(), "doc", bytes.NewReader(testBytes(size, 1)), 0); err != nil {
				t.Fatal(err)
			}
		}
		writes := 0
		for _, r := range f.requests() {
			creates := r.Method == http.MethodPost && strings.HasPrefix(r.Query, "uploads")
			if !creates && (r.Method != http.MethodPut || strings.Contains(r.Query, "partNumber=")) {
				continue // SSE is asked when an object or upload is made, not per part
			}
			writes++
			wantSSE := ""
			if keyID != "" {
				wantSSE = "aws:kms"
			}
			if r.SSE != wantSSE || r.SSEKeyID != keyID {
				t.Errorf("key %q: %s %s?%s sent SSE %q key %q, want %q key %q", keyID, r.Method, r.Path, r.Query, r.SSE, r.SSEKeyID, wantSSE, keyID)
			}
		}
		if writes != 3 { // PutObject; CreateMultipartUpload and CopyObject
			t.Errorf("key %q: %d writes seen, want 3", keyID, writes)
		}
	}
}

func TestS3_UnreachableEndpointIsErrUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	d := newS3(t, testS3Config(url))
	ctx := context.Background()
	if _, err := d.Put(ctx, "doc", strings.NewReader("x"), 0); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Put error = %v, want ErrUnavailable", err)
	}
	if _, err := d.Head(ctx, "doc"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Head error = %v, want ErrUnavailable", err)
	}
}

func TestS3_MissingBucketIsAnUnclassifiedError(t *testing.T) {
	cfg := testS3Config(startS3(t).URL)
	cfg.Bucket = "no-such-bucket"
	d := newS3(t, cfg)
	_, err := d.Put(context.Background(), "doc", strings.NewReader("x"), 0)
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("Put to a missing bucket: error = %v, want an unclassified NoSuchBucket (a deployment fault)", err)
	}
}

func TestNewS3_RefusesIncompleteSettings(t *testing.T) {
	for _, tc := range []struct {
		cfg  S3Config
		want string
	}{
		{S3Config{Region: testRegion}, "bucket and a region"},
		{S3Config{Bucket: testBucket}, "bucket and a region"},
		{S3Config{Bucket: testBucket, Region: testRegion, PartSize: 1 << 20}, "minimum"},
	} {
		if _, err := NewS3(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewS3(%+v) error = %v, want one about %q", tc.cfg, err, tc.want)
		}
	}
}
