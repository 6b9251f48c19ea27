package pagetoken

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// ReasonInvalid answers a page token that this list did not issue with these filters.
var ReasonInvalid = errs.Declare(connect.CodeInvalidArgument, "PAGE_TOKEN_INVALID")
