package keys

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	localkms "github.com/nsmithuk/local-kms/src"
	kmsconfig "github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
)

const testRegion = "sa-east-1"

// local-kms keeps its account and region in package variables, which its own binary
// fills from KMS_ACCOUNT_ID and KMS_REGION; set them once, before any server runs.
var setLocalKMS sync.Once

// startKMS serves local-kms on 127.0.0.1 for the test and returns its URL. Only the
// handler is used: the project's own binary would listen on every interface.
func startKMS(t *testing.T) string {
	t.Helper()
	setLocalKMS.Do(func() {
		kmsconfig.AWSRegion = testRegion
		kmsconfig.AWSAccountId = "111122223333"
	})
	db := data.NewDatabase(filepath.Join(t.TempDir(), "kms"))
	t.Cleanup(db.Close)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		localkms.HandleRequest(w, r, db)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close) // runs before db.Close
	return srv.URL
}

// useTestCredentials gives the SDK static credentials and keeps it away from the
// machine's AWS files and instance metadata.
func useTestCredentials(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDHEALTHCORETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "healthcore-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_KMS", "")
}

// newAWSWithKey starts local-kms, creates a symmetric key through the KMS API and
// returns a driver whose default is that key, with the key's ARN.
func newAWSWithKey(t *testing.T) (*AWS, string) {
	t.Helper()
	useTestCredentials(t)
	endpoint := startKMS(t)
	ctx := context.Background()
	// Any key id will do to build the client that creates the real one.
	admin, err := NewAWS(ctx, AWSConfig{KeyID: "pending", Region: testRegion, Endpoint: endpoint})
	if err != nil {
		t.Fatalf("NewAWS: %v", err)
	}
	out, err := admin.client.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("healthcore test key"),
		KeySpec:     types.KeySpecSymmetricDefault,
		KeyUsage:    types.KeyUsageTypeEncryptDecrypt,
	})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	arn := aws.ToString(out.KeyMetadata.Arn)
	d, err := NewAWS(ctx, AWSConfig{KeyID: aws.ToString(out.KeyMetadata.KeyId), Region: testRegion, Endpoint: endpoint})
	if err != nil {
		t.Fatalf("NewAWS: %v", err)
	}
	return d, arn
}

func TestAWS_DriverSuite(t *testing.T) {
	runDriverSuite(t, func(t *testing.T) Driver {
		d, _ := newAWSWithKey(t)
		return d
	})
}

func TestAWS_DefaultKeyAndAliasEncryptUnderTheSameKey(t *testing.T) {
	d, arn := newAWSWithKey(t)
	ctx := context.Background()
	if _, err := d.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/healthcore"), TargetKeyId: aws.String(arn)}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	_, byDefault, err := d.Encrypt(ctx, "", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	blob, byAlias, err := d.Encrypt(ctx, "alias/healthcore", []byte("y"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if byDefault != arn || byAlias != arn {
		t.Errorf("key ids = %q (default), %q (alias), want the key ARN %q", byDefault, byAlias, arn)
	}
	if got, keyID, err := d.Decrypt(ctx, blob, nil); err != nil || string(got) != "y" || keyID != arn {
		t.Errorf("Decrypt = %q, %q, %v; want \"y\" under %q", got, keyID, err, arn)
	}
}

func TestAWS_UnreachableEndpointFailsWithErrUnavailable(t *testing.T) {
	useTestCredentials(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	d, err := NewAWS(context.Background(), AWSConfig{KeyID: "alias/healthcore", Region: testRegion, Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = d.Encrypt(context.Background(), "", []byte("x"), nil)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Encrypt error = %v, want ErrUnavailable", err)
	}
}

func TestAWS_DisabledKeyIsNeitherDecryptNorNotFound(t *testing.T) {
	d, arn := newAWSWithKey(t)
	ctx := context.Background()
	if _, err := d.client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatalf("DisableKey: %v", err)
	}
	_, _, err := d.Encrypt(ctx, "", []byte("x"), nil)
	if err == nil || errors.Is(err, ErrDecrypt) || errors.Is(err, ErrKeyNotFound) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Encrypt under a disabled key: error = %v, want an unclassified (internal) error", err)
	}
	if !strings.Contains(err.Error(), "DisabledException") {
		t.Errorf("error = %v, want the KMS cause kept for the logs", err)
	}
}

func TestNewAWS_NeedsKeyAndRegion(t *testing.T) {
	for _, cfg := range []AWSConfig{{Region: testRegion}, {KeyID: "alias/healthcore"}} {
		if _, err := NewAWS(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "key id and a region") {
			t.Errorf("NewAWS(%+v) error = %v, want one asking for a key id and a region", cfg, err)
		}
	}
}
