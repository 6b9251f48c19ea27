package keys

import (
	"context"
	"fmt"
	"net/http"

	"connectrpc.com/connect"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
)

// Service serves KeysService over a Driver. Its methods only convert: the driver does
// the work and errors.go maps its failures to statuses.
type Service struct {
	driver Driver
}

var _ keysv1connect.KeysServiceHandler = (*Service)(nil)

// New returns the service over d.
func New(d Driver) *Service { return &Service{driver: d} }

// Handler returns the mount path and the Connect handler; pass the server's
// HandlerOptions so authentication and validation run.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return keysv1connect.NewKeysServiceHandler(s, opts...)
}

// GenerateDataKey implements keysv1connect.KeysServiceHandler.
func (s *Service) GenerateDataKey(ctx context.Context, req *connect.Request[keysv1.GenerateDataKeyRequest]) (*connect.Response[keysv1.GenerateDataKeyResponse], error) {
	pt, blob, keyID, err := s.driver.GenerateDataKey(ctx, req.Msg.GetKeyId(), req.Msg.GetEncryptionContext())
	if err != nil {
		return nil, driverError(ctx, "generate data key", err)
	}
	if len(pt) != DataKeySize {
		return nil, driverError(ctx, "generate data key", fmt.Errorf("driver returned a %d-byte data key, want %d", len(pt), DataKeySize))
	}
	return connect.NewResponse(&keysv1.GenerateDataKeyResponse{Plaintext: pt, CiphertextBlob: blob, KeyId: keyID}), nil
}

// Encrypt implements keysv1connect.KeysServiceHandler.
func (s *Service) Encrypt(ctx context.Context, req *connect.Request[keysv1.EncryptRequest]) (*connect.Response[keysv1.EncryptResponse], error) {
	blob, keyID, err := s.driver.Encrypt(ctx, req.Msg.GetKeyId(), req.Msg.GetPlaintext(), req.Msg.GetEncryptionContext())
	if err != nil {
		return nil, driverError(ctx, "encrypt", err)
	}
	return connect.NewResponse(&keysv1.EncryptResponse{CiphertextBlob: blob, KeyId: keyID}), nil
}

// Decrypt implements keysv1connect.KeysServiceHandler.
func (s *Service) Decrypt(ctx context.Context, req *connect.Request[keysv1.DecryptRequest]) (*connect.Response[keysv1.DecryptResponse], error) {
	pt, keyID, err := s.driver.Decrypt(ctx, req.Msg.GetCiphertextBlob(), req.Msg.GetEncryptionContext())
	if err != nil {
		return nil, driverError(ctx, "decrypt", err)
	}
	return connect.NewResponse(&keysv1.DecryptResponse{Plaintext: pt, KeyId: keyID}), nil
}
