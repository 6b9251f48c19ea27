package keys

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons the keys service sends; errors.go maps driver failures to them.
var (
	// ReasonDecryptFailed means the ciphertext was altered, or the encryption context
	// differs from the one used to encrypt.
	ReasonDecryptFailed = errs.Declare(connect.CodeInvalidArgument, "DECRYPT_FAILED")
	// ReasonKeyNotFound means the master key does not exist, or this service may not
	// use it.
	ReasonKeyNotFound = errs.Declare(connect.CodeNotFound, "KEY_NOT_FOUND")
	// ReasonKMSUnavailable means the key management provider cannot be reached now;
	// the caller may retry.
	ReasonKMSUnavailable = errs.Declare(connect.CodeUnavailable, "KMS_UNAVAILABLE")
)
