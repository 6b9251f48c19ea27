package server

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// ReasonValidationFailed answers a request that breaks its proto's validation rules;
// the error lists every violated field.
var ReasonValidationFailed = errs.Declare(connect.CodeInvalidArgument, "VALIDATION_FAILED")
