package blobs

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeS3ProcessEnv makes the test binary serve a fake S3 instead of running tests.
const fakeS3ProcessEnv = "HEALTHCORE_BLOBS_TEST_FAKE_S3"

// TestMain keeps the AWS SDK away from the machine's AWS files, variables and instance
// metadata for every test (tests that run in parallel cannot set variables
// themselves), and lets the test binary double as a fake S3 server process, which
// the S3 benchmark uses so that the fake's memory (it keeps objects in memory) is not
// counted with the driver's.
func TestMain(m *testing.M) {
	if os.Getenv(fakeS3ProcessEnv) == "serve" {
		serveFakeS3()
		return
	}
	dir, err := os.MkdirTemp("", "blobs-aws-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		os.Setenv(k, v)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION"} {
		os.Unsetenv(k)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serveFakeS3 serves gofakes3 with the test bucket on 127.0.0.1, prints its URL and
// exits when its standard input closes: when the parent test process ends, however it
// ends.
func serveFakeS3() {
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("http://" + ln.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	_ = http.Serve(ln, gofakes3.New(backend).Server())
	os.Exit(1)
}

// startS3Process runs a fake S3 in a child process for the test and returns its URL.
func startS3Process(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fakeS3ProcessEnv+"=serve")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://127.0.0.1:") {
		tb.Fatalf("fake S3 process: %q, %v", line, err)
	}
	return strings.TrimSpace(line)
}
