package authn

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/errs"
	"healthcore/platform/logging"
)

// Interceptor authenticates every call by the access rule its method declares in the
// proto (healthcore.access.v1.rule). A method without a rule is refused: nothing becomes
// public by omission. An internal method admits only the services its rule lists as
// callers, each identified by a service token it signed or, when it sends no bearer
// token, by the client certificate its connection presented (PeerService).
type Interceptor struct {
	users    *Verifier
	services *ServiceVerifier
	rules    sync.Map // procedure → *accessv1.Rule
}

// NewInterceptor verifies user tokens with users and service tokens with services (the
// verifier of the service this interceptor guards; nil when callers are identified by
// their certificates alone, and then every service token is refused).
//
// A partner client's token (role partner) is admitted only to methods whose rule lists
// partner scopes it holds one of (SCOPE_MISSING otherwise), and refused on every other
// method, public, internal or user-only (PARTNER_NOT_ALLOWED).
func NewInterceptor(users *Verifier, services *ServiceVerifier) *Interceptor {
	return &Interceptor{users: users, services: services}
}

// RuleOf returns the access rule declared on a method, or nil.
func RuleOf(md protoreflect.MethodDescriptor) *accessv1.Rule {
	if md == nil || !proto.HasExtension(md.Options(), accessv1.E_Rule) {
		return nil
	}
	return proto.GetExtension(md.Options(), accessv1.E_Rule).(*accessv1.Rule)
}

// WrapUnary implements connect.Interceptor.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.authenticate(ctx, req.Spec(), req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor; clients are not authenticated here.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.Spec(), conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

func (i *Interceptor) rule(spec connect.Spec) *accessv1.Rule {
	if r, ok := i.rules.Load(spec.Procedure); ok {
		return r.(*accessv1.Rule)
	}
	md, _ := spec.Schema.(protoreflect.MethodDescriptor)
	r := RuleOf(md)
	if r != nil {
		i.rules.Store(spec.Procedure, r)
	}
	return r
}

var (
	errServiceOnly = ReasonServiceOnly.New("this call is internal to the platform")
	errNoUsers     = ReasonRoleNotAllowed.New("your account's role may not make this call")
	errMFARequired = ReasonMFARequired.New(
		"this call needs a second factor: enrol an authenticator app (TOTP) and log in with its code")
)

func (i *Interceptor) authenticate(ctx context.Context, spec connect.Spec, h http.Header) (context.Context, error) {
	rule := i.rule(spec)
	if rule == nil {
		return ctx, errs.Internal("authn: authenticate", fmt.Errorf("method %s declares no access rule", spec.Procedure))
	}
	token, hasToken := bearer(h.Get("Authorization"))

	if internal := rule.GetInternal(); internal != nil {
		caller, err := i.callerService(ctx, token, hasToken, internal.GetCallers())
		switch {
		case err != nil:
			return ctx, err
		case caller != "" && slices.Contains(internal.GetCallers(), caller):
			logging.AddFields(ctx, slog.String("role", "service"), slog.String("caller", caller))
			return WithPrincipal(ctx, Principal{Role: accessv1.Role_ROLE_SERVICE, Service: caller}), nil
		// A service named by its certificate alone on a method users may call too is
		// the gateway (or another edge) passing a user's call: it goes on as one.
		case caller != "" && (hasToken || len(rule.Roles) == 0):
			return ctx, ReasonCallerNotAllowed.New(fmt.Sprintf("the service %s may not call %s", caller, spec.Procedure))
		}
	}
	if rule.Public {
		// A token on a public call is optional: use it when valid, ignore it otherwise,
		// so a stale header never locks anyone out of login or search.
		if hasToken {
			if p, err := i.users.Verify(ctx, token); err == nil {
				// A partner client names itself on public methods too, and is held to
				// the partner rule there as everywhere.
				if p.Role == accessv1.Role_ROLE_PARTNER {
					if err := PartnerAllowed(rule, p, spec.Procedure); err != nil {
						return ctx, err
					}
				}
				return i.with(ctx, p), nil
			}
		}
		return ctx, nil
	}
	if !hasToken {
		return ctx, ErrTokenMissing
	}
	p, err := i.users.Verify(ctx, token)
	if err != nil {
		if rule.GetInternal() != nil && len(rule.Roles) == 0 && !strings.Contains(token, ".") {
			return ctx, ReasonServiceTokenInvalid.New("the service token is not valid")
		}
		return ctx, err
	}
	switch {
	case p.Role == accessv1.Role_ROLE_PARTNER:
		if err := PartnerAllowed(rule, p, spec.Procedure); err != nil {
			return ctx, err
		}
		return i.with(ctx, p), nil
	case len(rule.Roles) == 0:
		return ctx, errServiceOnly
	case !slices.Contains(rule.Roles, p.Role):
		return ctx, errNoUsers
	case slices.Contains(rule.MfaRoles, p.Role) && !p.MFA():
		return ctx, errMFARequired
	}
	return i.with(ctx, p), nil
}

// callerService returns the service calling: the sub of a valid service token, else,
// when no bearer token is sent, the service the connection's certificate names (among
// callers, when it names several); "" when the caller is not a service (no identity,
// or a user's token).
func (i *Interceptor) callerService(ctx context.Context, token string, hasToken bool, callers []string) (string, error) {
	if hasToken && i.services != nil {
		if caller, ok := i.services.remembered(token, i.services.Now()); ok {
			return caller, nil // a service token verified before: no need to parse it again
		}
	}
	switch {
	case hasToken && isServiceToken(token):
		if i.services == nil {
			return "", ReasonServiceTokenInvalid.New("this service accepts no service tokens: its callers present certificates")
		}
		return i.services.Verify(token)
	case !hasToken:
		return peerCaller(ctx, callers), nil
	}
	return "", nil
}

func (i *Interceptor) with(ctx context.Context, p Principal) context.Context {
	if p.Role == accessv1.Role_ROLE_PARTNER {
		logging.AddFields(ctx, slog.String("client_id", p.ClientID), slog.String("clinic_id", p.ClinicID), slog.String("role", RoleName(p.Role)))
		return WithPrincipal(ctx, p)
	}
	logging.AddFields(ctx, slog.String("user_id", p.UserID), slog.String("role", RoleName(p.Role)))
	return WithPrincipal(ctx, p)
}
