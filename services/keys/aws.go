package keys

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// AWSConfig locates the KMS key of the production driver. Credentials come from the
// SDK's default chain (environment, shared files, web identity, instance role).
type AWSConfig struct {
	// KeyID is the default master key: a key id, key ARN, alias ("alias/healthcore") or
	// alias ARN.
	KeyID string
	// Region is the AWS region of the key, e.g. "sa-east-1".
	Region string
	// Endpoint replaces the regional KMS endpoint when set (a VPC endpoint, or a
	// KMS-compatible server in tests), e.g. "https://kms.example.internal".
	Endpoint string
	// HTTPClient sends the SDK's requests when set (the catalog's, which records a span
	// per call when tracing is on); nil keeps the SDK's own. Not a flag.
	HTTPClient aws.HTTPClient
}

// AWS is the production driver, backed by AWS KMS symmetric keys. KMS binds the
// encryption context to every ciphertext and records it in CloudTrail, so contexts
// must never carry personal data.
type AWS struct {
	client *kms.Client
	keyID  string
}

var _ Driver = (*AWS)(nil)

// NewAWS returns a driver using the key cfg names. It does not call KMS: a missing key
// or bad credentials show on the first request, which then fails with a logged cause.
func NewAWS(ctx context.Context, cfg AWSConfig) (*AWS, error) {
	if cfg.KeyID == "" || cfg.Region == "" {
		return nil, errors.New("keys: the aws driver needs a key id and a region")
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.Region)}
	if cfg.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("keys: load AWS configuration: %w", err)
	}
	client := kms.NewFromConfig(awsCfg, func(o *kms.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &AWS{client: client, keyID: cfg.KeyID}, nil
}

func (a *AWS) key(keyID string) *string {
	if keyID == "" {
		return aws.String(a.keyID)
	}
	return aws.String(keyID)
}

// GenerateDataKey implements Driver.
func (a *AWS) GenerateDataKey(ctx context.Context, keyID string, ec map[string]string) (plaintext, blob []byte, usedKeyID string, err error) {
	out, err := a.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: a.key(keyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: kmsContext(ec),
	})
	if err != nil {
		return nil, nil, "", kmsError("GenerateDataKey", err)
	}
	return out.Plaintext, out.CiphertextBlob, aws.ToString(out.KeyId), nil
}

// Encrypt implements Driver.
func (a *AWS) Encrypt(ctx context.Context, keyID string, plaintext []byte, ec map[string]string) (blob []byte, usedKeyID string, err error) {
	out, err := a.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId: a.key(keyID), Plaintext: plaintext, EncryptionContext: kmsContext(ec),
	})
	if err != nil {
		return nil, "", kmsError("Encrypt", err)
	}
	return out.CiphertextBlob, aws.ToString(out.KeyId), nil
}

// Decrypt implements Driver. No key id is sent: a symmetric KMS ciphertext names its
// key, and it may have been made under a key other than the default.
func (a *AWS) Decrypt(ctx context.Context, blob []byte, ec map[string]string) (plaintext []byte, keyID string, err error) {
	out, err := a.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: kmsContext(ec)})
	if err != nil {
		return nil, "", kmsError("Decrypt", err)
	}
	return out.Plaintext, aws.ToString(out.KeyId), nil
}

// kmsContext sends an empty context as none, which KMS treats alike.
func kmsContext(ec map[string]string) map[string]string {
	if len(ec) == 0 {
		return nil
	}
	return ec
}
