package blobs

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"healthcore/platform/config"
)

// parse registers a fresh Config's flags and parses args and env as the binary does.
func parse(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	c := DefaultConfig()
	fs := flag.NewFlagSet("healthcore", flag.ContinueOnError)
	c.RegisterFlags(fs)
	var p config.Problems
	if err := config.Parse(fs, args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &p); err != nil {
		return c, err
	}
	return c, p.Err()
}

func TestConfig_DefaultIsTheLocalDriverInTheDataFolder(t *testing.T) {
	c, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var p config.Problems
	c.Check(&p)
	if c.Driver.Value != DriverLocal || p.Err() != nil {
		t.Fatalf("driver = %q, problems %v; want local and none", c.Driver.Value, p.Err())
	}
	dataDir := t.TempDir()
	d, err := c.Open(context.Background(), dataDir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, ok := d.(*Local); !ok {
		t.Fatalf("Open returned %T, want *Local", d)
	}
	if _, err := d.Put(context.Background(), "doc", strings.NewReader("x"), 0); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dataDir, "blobs"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("store folder %s/blobs: %v, %v; want an owner-only folder", dataDir, fi, err)
	}
}

func TestConfig_ZeroValueIsTheLocalDriver(t *testing.T) {
	var c Config
	var p config.Problems
	c.Check(&p)
	d, err := c.Open(context.Background(), t.TempDir())
	if _, ok := d.(*Local); !ok || err != nil || p.Err() != nil {
		t.Errorf("zero Config opens %T, %v (problems %v); want *Local", d, err, p.Err())
	}
}

func TestConfig_S3DriverIsSetByFlagsAndEnvironmentAndOpens(t *testing.T) {
	f := startS3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDHEALTHCORETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "healthcore-test-secret")
	c, err := parse(t, []string{"-blobs.driver=s3", "-blobs.s3-region=" + testRegion, "-blobs.s3-path-style"}, map[string]string{
		"HEALTHCORE_BLOBS_S3_BUCKET":         testBucket,
		"HEALTHCORE_BLOBS_S3_PREFIX":         "prod/",
		"HEALTHCORE_BLOBS_S3_ENDPOINT":       f.URL,
		"HEALTHCORE_BLOBS_S3_SSE_KMS_KEY_ID": "alias-arn-or-key-id",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := S3Config{Bucket: testBucket, Prefix: "prod/", Region: testRegion, Endpoint: f.URL, PathStyle: true, SSEKMSKeyID: "alias-arn-or-key-id"}
	if c.Driver.Value != DriverS3 || c.S3 != want {
		t.Fatalf("config = %q %+v, want s3 %+v", c.Driver.Value, c.S3, want)
	}
	var p config.Problems
	c.Check(&p)
	if p.Err() != nil {
		t.Fatalf("Check: %v", p.Err())
	}
	d, err := c.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s, ok := d.(*S3)
	if !ok || s.bucket != testBucket || s.prefix != "prod/" || s.sseKeyID != "alias-arn-or-key-id" || s.partSize != DefaultPartSize {
		t.Fatalf("Open returned %T %+v", d, d)
	}
	// The endpoint, path style and credentials from the environment are used.
	if _, err := d.Put(context.Background(), "doc", strings.NewReader("x"), 0); err != nil {
		t.Fatalf("Put through the configured driver: %v", err)
	}
	if reqs := f.requests(); len(reqs) == 0 || reqs[len(reqs)-1].Path != "/"+testBucket+"/prod/doc" {
		t.Errorf("requests = %+v, want a path-style PUT of /%s/prod/doc", reqs, testBucket)
	}
}

func TestConfig_S3DriverNeedsBucketRegionAndAGoodEndpoint(t *testing.T) {
	c, err := parse(t, []string{"-blobs.driver=s3", "-blobs.s3-endpoint=s3.internal", "-blobs.s3-prefix=/abs/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var p config.Problems
	c.Check(&p)
	if len(p) != 4 {
		t.Fatalf("problems = %q, want 4", p)
	}
	for i, flagName := range []string{"blobs.s3-bucket", "blobs.s3-region", "blobs.s3-endpoint", "blobs.s3-prefix"} {
		if !strings.HasPrefix(p[i], flagName) {
			t.Errorf("problem %d = %q, want it to name %s", i, p[i], flagName)
		}
	}
	for _, ok := range []string{"https://s3.sa-east-1.amazonaws.com", "http://127.0.0.1:9000"} {
		c.S3 = S3Config{Bucket: "b", Region: testRegion, Endpoint: ok}
		var p config.Problems
		c.Check(&p)
		if p.Err() != nil {
			t.Errorf("endpoint %s refused: %v", ok, p.Err())
		}
	}
}

func TestConfig_UnknownDriverIsRefused(t *testing.T) {
	_, err := parse(t, nil, map[string]string{"HEALTHCORE_BLOBS_DRIVER": "gcs"})
	if err == nil || !strings.Contains(err.Error(), "HEALTHCORE_BLOBS_DRIVER") || !strings.Contains(err.Error(), "local, s3") {
		t.Errorf("error = %v, want one naming the variable and the choices", err)
	}
	c := Config{Driver: config.Choice{Value: "gcs"}}
	var p config.Problems
	c.Check(&p)
	if len(p) != 1 || !strings.Contains(p[0], "blobs.driver") {
		t.Errorf("Check of a hand-built config = %q, want a blobs.driver problem", p)
	}
	if _, err := c.Open(context.Background(), t.TempDir()); err == nil {
		t.Error("Open of an unknown driver succeeded")
	}
}
