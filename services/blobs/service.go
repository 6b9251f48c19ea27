package blobs

import (
	"context"
	"math"
	"net/http"
	"slices"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
)

// GetChunkSize is the size of the chunks Get streams: large enough that per-message
// costs vanish, small enough to keep many downloads in little memory.
const GetChunkSize = 256 << 10

// Service serves BlobsService over a Driver. Its methods only convert: put.go feeds a
// Put stream to the driver, get.go streams an object back, the driver does the storage
// and errors.go maps its failures to statuses.
//
// A Put header's max_bytes of 0 means the largest object there is, MaxObjectBytes
// (5 GiB); an object past its limit is INVALID_ARGUMENT OBJECT_TOO_LARGE.
type Service struct {
	driver Driver
}

var _ blobsv1connect.BlobsServiceHandler = (*Service)(nil)

// New returns the service over d.
func New(d Driver) *Service { return &Service{driver: d} }

// Handler returns the mount path and the Connect handler; pass the server's
// HandlerOptions so authentication and validation run.
//
// The handler never compresses what it sends, though clients (connect-go's by
// default) ask for gzip: objects are ciphertext, which does not compress, and
// gzipping it took 60% of the CPU of a Put-then-Get round trip. Compressed requests
// are still accepted.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	opts = append(slices.Clip(opts), connect.WithCompressMinBytes(math.MaxInt))
	return blobsv1connect.NewBlobsServiceHandler(s, opts...)
}

// Put implements blobsv1connect.BlobsServiceHandler.
func (s *Service) Put(ctx context.Context, stream *connect.ClientStream[blobsv1.PutRequest]) (*connect.Response[blobsv1.PutResponse], error) {
	info, err := s.put(ctx, stream)
	if err != nil {
		return nil, driverError("blobs: put object", err)
	}
	return connect.NewResponse(&blobsv1.PutResponse{Object: infoProto(info)}), nil
}

// Get implements blobsv1connect.BlobsServiceHandler.
func (s *Service) Get(ctx context.Context, req *connect.Request[blobsv1.GetRequest], stream *connect.ServerStream[blobsv1.GetResponse]) error {
	if err := s.get(ctx, req.Msg.GetKey(), stream); err != nil {
		return driverError("blobs: get object", err)
	}
	return nil
}

// Head implements blobsv1connect.BlobsServiceHandler.
func (s *Service) Head(ctx context.Context, req *connect.Request[blobsv1.HeadRequest]) (*connect.Response[blobsv1.HeadResponse], error) {
	info, err := s.driver.Head(ctx, req.Msg.GetKey())
	if err != nil {
		return nil, driverError("blobs: read object info", err)
	}
	return connect.NewResponse(&blobsv1.HeadResponse{Object: infoProto(info)}), nil
}

// Delete implements blobsv1connect.BlobsServiceHandler.
func (s *Service) Delete(ctx context.Context, req *connect.Request[blobsv1.DeleteRequest]) (*connect.Response[blobsv1.DeleteResponse], error) {
	if err := s.driver.Delete(ctx, req.Msg.GetKey()); err != nil {
		return nil, driverError("blobs: delete object", err)
	}
	return connect.NewResponse(&blobsv1.DeleteResponse{}), nil
}

func infoProto(info ObjectInfo) *blobsv1.ObjectInfo {
	return &blobsv1.ObjectInfo{Key: info.Key, Size: info.Size, Sha256: info.SHA256, CreateTime: timestamppb.New(info.CreateTime)}
}
