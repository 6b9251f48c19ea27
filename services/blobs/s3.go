package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Multipart part sizes. S3 wants every part but the last to be at least 5 MiB; a Put
// holds one part in memory at a time, so the part size is the memory one upload needs.
const (
	MinPartSize     int64 = 5 << 20
	DefaultPartSize int64 = 8 << 20
)

// Object metadata the S3 driver writes (sent as x-amz-meta-sha256 and
// x-amz-meta-create-time).
const (
	metaSHA256     = "sha256"
	metaCreateTime = "create-time"
)

// S3Config locates the bucket of the production driver. Credentials come from the SDK's
// default chain (environment, shared files, web identity, instance or task role)
// unless Credentials is set.
type S3Config struct {
	// Bucket holds the objects.
	Bucket string
	// Prefix is put before every key, e.g. "healthcore/blobs/", so that one bucket can
	// serve several environments; "" for none.
	Prefix string
	// Region is the bucket's AWS region, e.g. "sa-east-1".
	Region string
	// Endpoint replaces the regional S3 endpoint when set: a VPC endpoint, or an
	// S3-compatible store (MinIO, Ceph), e.g. "https://s3.example.internal".
	Endpoint string
	// PathStyle addresses the bucket in the path (https://host/bucket/key) instead of
	// the host name; most S3-compatible stores need it.
	PathStyle bool
	// SSEKMSKeyID, when set, asks S3 to encrypt every object it stores with this KMS key
	// (SSE-KMS: key id, key ARN or alias ARN); empty leaves the bucket's default
	// encryption in force (SSE-S3 unless the bucket says otherwise). Objects are already
	// ciphertext from the records service; SSE-KMS adds a key policy and CloudTrail
	// records of every read. SSE-KMS puts the object's ARN — so its key — in the KMS
	// encryption context and in CloudTrail: another reason keys carry no personal data.
	SSEKMSKeyID string
	// PartSize is the multipart part size, at least MinPartSize; 0 means
	// DefaultPartSize. Objects that fit in one part are sent with one PutObject.
	PartSize int64
	// HTTPClient sends the SDK's requests when set (the catalog's, which records a span
	// per call when tracing is on); nil keeps the SDK's own.
	HTTPClient aws.HTTPClient
	// Credentials replaces the default credential chain when set (tests, or static keys
	// of an S3-compatible store).
	Credentials aws.CredentialsProvider
}

// S3 is the production driver, backed by an Amazon S3 bucket (or an S3-compatible
// store). Every object carries its SHA-256 as x-amz-meta-sha256.
//
// How a Put stays whole-or-nothing with flat memory: the bytes are read one part at a
// time into a pooled buffer. An object that fits in one part is sent with PutObject,
// metadata included. A larger one is uploaded with a multipart upload to a staging key
// (<prefix>.uploads/<random>, a name no object key can take since keys cannot start
// with '.'), because S3 fixes an object's metadata when the upload starts and the
// digest is known only at the end; after CompleteMultipartUpload, one CopyObject puts
// it under its key with the digest (S3 copies server-side, and one copy takes up to
// 5 GiB, MaxObjectBytes), and the staging object is deleted. A failure before the
// copy aborts the multipart upload or deletes the staging object, so nothing appears
// under the key; give the bucket a lifecycle rule that aborts incomplete multipart
// uploads and expires <prefix>.uploads/ after a day, for what a crash leaves behind.
type S3 struct {
	client   *s3.Client
	bucket   string
	prefix   string
	sseKeyID string
	partSize int64
	parts    sync.Pool // *[]byte of partSize bytes
	endpoint string    // the S3 endpoint's URL, for Endpoint
}

// Endpoint is the URL of the S3 endpoint the driver calls, which the process probes to
// report S3 reachable or not on its ops listener.
func (d *S3) Endpoint() string { return d.endpoint }

var _ Driver = (*S3)(nil)

// NewS3 returns a driver for the bucket cfg names. It does not call S3: a missing
// bucket or bad credentials show on the first request, which then fails with a logged
// cause.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" || cfg.Region == "" {
		return nil, errors.New("blobs: the s3 driver needs a bucket and a region")
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < MinPartSize {
		return nil, fmt.Errorf("blobs: part size %d is below S3's minimum of %d", cfg.PartSize, MinPartSize)
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.Region)}
	if cfg.Credentials != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(cfg.Credentials))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blobs: load AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// No checksum headers on uploads unless an operation requires them. With the
		// SDK's default (WhenSupported) every UploadPart carries a CRC32 that S3 then
		// expects in CompleteMultipartUpload, which lists parts by ETag alone, and the
		// upload fails ("InvalidPart"); S3-compatible stores often reject the headers
		// outright. Transit is protected by TLS (and on plain HTTP by SigV4 signing the
		// payload's SHA-256), the object by the SHA-256 in its metadata.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		// S3 returns checksums only for objects uploaded with them; the SDK would log a
		// line for every other GetObject.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "https://s3." + cfg.Region + ".amazonaws.com"
	}
	d := &S3{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, sseKeyID: cfg.SSEKMSKeyID, partSize: cfg.PartSize, endpoint: endpoint}
	d.parts.New = func() any { b := make([]byte, d.partSize); return &b }
	return d, nil
}

func (d *S3) objectKey(key string) *string { return aws.String(d.prefix + key) }

// Get implements Driver.
func (d *S3) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return nil, ObjectInfo{}, err
	}
	out, err := d.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(d.bucket), Key: d.objectKey(key)})
	if err != nil {
		return nil, ObjectInfo{}, s3Error("GetObject", key, err)
	}
	return out.Body, objectInfo(key, aws.ToInt64(out.ContentLength), out.Metadata, out.LastModified), nil
}

// Head implements Driver.
func (d *S3) Head(ctx context.Context, key string) (ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.bucket), Key: d.objectKey(key)})
	if err != nil {
		return ObjectInfo{}, s3Error("HeadObject", key, err)
	}
	return objectInfo(key, aws.ToInt64(out.ContentLength), out.Metadata, out.LastModified), nil
}

// Delete implements Driver. S3 answers a delete of a missing key with success too.
func (d *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(d.bucket), Key: d.objectKey(key)})
	if err != nil {
		return s3Error("DeleteObject", key, err)
	}
	return nil
}

// objectInfo reads what Put stored. An object written by another tool has no digest
// (SHA256 "") and its create time is S3's Last-Modified.
func objectInfo(key string, size int64, meta map[string]string, lastModified *time.Time) ObjectInfo {
	info := ObjectInfo{Key: key, Size: size, SHA256: strings.ToLower(meta[metaSHA256])}
	if t, err := time.Parse(time.RFC3339Nano, meta[metaCreateTime]); err == nil {
		info.CreateTime = t.UTC()
	} else if lastModified != nil {
		info.CreateTime = lastModified.UTC()
	}
	return info
}
