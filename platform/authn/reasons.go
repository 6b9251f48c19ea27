package authn

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons authentication and access rules answer with, on every service.
var (
	ReasonTokenMissing        = errs.Declare(connect.CodeUnauthenticated, "TOKEN_MISSING")
	ReasonTokenExpired        = errs.Declare(connect.CodeUnauthenticated, "TOKEN_EXPIRED")
	ReasonTokenInvalid        = errs.Declare(connect.CodeUnauthenticated, "TOKEN_INVALID")
	ReasonServiceTokenInvalid = errs.Declare(connect.CodeUnauthenticated, "SERVICE_TOKEN_INVALID")
	ReasonKeysUnavailable     = errs.Declare(connect.CodeUnavailable, "KEYS_UNAVAILABLE")
	// ReasonSessionEnded refuses an access token whose session was logged out or ended
	// after a refresh-token reuse (identity answers a refresh token of it the same way).
	ReasonSessionEnded = errs.Declare(connect.CodeUnauthenticated, "SESSION_ENDED")
	// ReasonRevokedSessionsUnavailable refuses every user token while the list of ended
	// sessions is older than the verifier's bound (identity unreachable).
	ReasonRevokedSessionsUnavailable = errs.Declare(connect.CodeUnavailable, "REVOKED_SESSIONS_UNAVAILABLE")
	ReasonServiceOnly                = errs.Declare(connect.CodePermissionDenied, "SERVICE_ONLY")
	ReasonRoleNotAllowed             = errs.Declare(connect.CodePermissionDenied, "ROLE_NOT_ALLOWED")
	// A service (by its token or its certificate) that the method's callers do not list.
	ReasonCallerNotAllowed = errs.Declare(connect.CodePermissionDenied, "CALLER_NOT_ALLOWED")
	// A user of a role the method's rule lists in mfa_roles whose session proved no
	// second factor.
	ReasonMFARequired = errs.Declare(connect.CodePermissionDenied, "MFA_REQUIRED")
	// A partner client's token on a method whose rule does not admit partners (every
	// internal method, every user's own).
	ReasonPartnerNotAllowed = errs.Declare(connect.CodePermissionDenied, "PARTNER_NOT_ALLOWED")
	// A partner client's token that holds none of the scopes the method's rule lists.
	ReasonScopeMissing = errs.Declare(connect.CodePermissionDenied, "SCOPE_MISSING")
)
