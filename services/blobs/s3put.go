package blobs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// stagingFolder holds multipart uploads until they are copied under their key. It
// starts with '.', which no key may, so it never clashes with an object.
const stagingFolder = ".uploads/"

// cleanupTimeout bounds the calls that undo a failed Put.
const cleanupTimeout = 30 * time.Second

// Put implements Driver; see S3 for how it stays whole-or-nothing.
func (d *S3) Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	m := newMeter(r, maxBytes)
	// A tiny read-ahead tells whether a full part is the last one: bufio reads straight
	// into the part buffer and keeps only the byte Peek looks at.
	src := bufio.NewReaderSize(ctxReader{ctx, m}, 16)
	bufp := d.parts.Get().(*[]byte)
	defer d.parts.Put(bufp)
	buf := *bufp

	n, last, err := readPart(src, buf)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("blobs: store %s: %w", key, err)
	}
	if last {
		return d.putSingle(ctx, key, buf[:n], m)
	}
	return d.putMultipart(ctx, key, src, buf, n, m)
}

// readPart fills buf from r and reports whether r is at its end afterwards.
func readPart(r *bufio.Reader, buf []byte) (n int, last bool, err error) {
	n, err = io.ReadFull(r, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return n, true, nil
	}
	if err != nil {
		return n, false, err
	}
	if _, err := r.Peek(1); errors.Is(err, io.EOF) {
		return n, true, nil
	} else if err != nil {
		return n, false, err
	}
	return n, false, nil
}

// putSingle stores an object that fits in one part with one PutObject.
func (d *S3) putSingle(ctx context.Context, key string, body []byte, m *meter) (ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	info := ObjectInfo{Key: key, Size: m.n, SHA256: m.sum(), CreateTime: time.Now().UTC()}
	in := &s3.PutObjectInput{
		Bucket: aws.String(d.bucket), Key: d.objectKey(key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ContentType: aws.String("application/octet-stream"), Metadata: metadata(info),
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = d.sse()
	if _, err := d.client.PutObject(ctx, in); err != nil {
		return ObjectInfo{}, s3Error("PutObject", key, err)
	}
	return info, nil
}

// putMultipart uploads to a staging key part by part, buf holding the first n bytes,
// then copies the result under key with its digest.
func (d *S3) putMultipart(ctx context.Context, key string, src *bufio.Reader, buf []byte, n int, m *meter) (ObjectInfo, error) {
	staging := d.prefix + stagingFolder + randomID()
	create := &s3.CreateMultipartUploadInput{Bucket: aws.String(d.bucket), Key: aws.String(staging)}
	create.ServerSideEncryption, create.SSEKMSKeyId = d.sse()
	up, err := d.client.CreateMultipartUpload(ctx, create)
	if err != nil {
		return ObjectInfo{}, s3Error("CreateMultipartUpload", key, err)
	}
	// Undo whatever failed, even when ctx has ended (often why it failed): abort an
	// upload not completed; delete the staging object once completing was tried, since
	// a completion whose answer was lost may have made it. Best effort: what a crash
	// leaves behind, the bucket's lifecycle rule removes.
	completing, completed := false, false
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if !completed {
			_, _ = d.client.AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{
				Bucket: aws.String(d.bucket), Key: aws.String(staging), UploadId: up.UploadId,
			})
		}
		if completing {
			_, _ = d.client.DeleteObject(cctx, &s3.DeleteObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(staging)})
		}
	}()

	// Parts before the last are full, so at least MinPartSize as S3 requires; readPart
	// only reports a part as not last when another byte follows it.
	var parts []types.CompletedPart
	last := false
	for num := int32(1); ; num++ {
		out, err := d.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(d.bucket), Key: aws.String(staging), UploadId: up.UploadId, PartNumber: aws.Int32(num),
			Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n)),
		})
		if err != nil {
			return ObjectInfo{}, s3Error("UploadPart", key, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		if last {
			break
		}
		if n, last, err = readPart(src, buf); err != nil {
			return ObjectInfo{}, fmt.Errorf("blobs: store %s: %w", key, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	completing = true
	_, err = d.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(d.bucket), Key: aws.String(staging), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return ObjectInfo{}, s3Error("CompleteMultipartUpload", key, err)
	}
	completed = true

	info := ObjectInfo{Key: key, Size: m.n, SHA256: m.sum(), CreateTime: time.Now().UTC()}
	cp := &s3.CopyObjectInput{
		Bucket: aws.String(d.bucket), Key: d.objectKey(key), CopySource: aws.String(copySource(d.bucket, staging)),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: metadata(info),
		ContentType: aws.String("application/octet-stream"),
	}
	cp.ServerSideEncryption, cp.SSEKMSKeyId = d.sse()
	if _, err := d.client.CopyObject(ctx, cp); err != nil {
		return ObjectInfo{}, s3Error("CopyObject", key, err)
	}
	return info, nil
}

// sse returns the server-side encryption settings of every write.
func (d *S3) sse() (types.ServerSideEncryption, *string) {
	if d.sseKeyID == "" {
		return "", nil
	}
	return types.ServerSideEncryptionAwsKms, aws.String(d.sseKeyID)
}

func metadata(info ObjectInfo) map[string]string {
	return map[string]string{metaSHA256: info.SHA256, metaCreateTime: info.CreateTime.Format(time.RFC3339Nano)}
}

// copySource is CopyObject's "bucket/key", URL-encoded as S3 requires.
func copySource(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return url.PathEscape(bucket) + "/" + strings.Join(segs, "/")
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error; it crashes instead
	return hex.EncodeToString(b)
}
