package authn

import (
	"context"
	"crypto/subtle"
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
// public by omission.
type Interceptor struct {
	verifier     *Verifier
	serviceToken []byte
	rules        sync.Map // procedure → *accessv1.Rule
}

// NewInterceptor verifies user tokens with v and the internal service credential
// against serviceToken (which must not be empty when any method is internal).
func NewInterceptor(v *Verifier, serviceToken string) *Interceptor {
	return &Interceptor{verifier: v, serviceToken: []byte(serviceToken)}
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
)

func (i *Interceptor) authenticate(ctx context.Context, spec connect.Spec, h http.Header) (context.Context, error) {
	rule := i.rule(spec)
	if rule == nil {
		return ctx, errs.Internal("authn: authenticate", fmt.Errorf("method %s declares no access rule", spec.Procedure))
	}
	token, hasToken := bearer(h.Get("Authorization"))

	if hasToken && rule.Internal && len(i.serviceToken) > 0 &&
		subtle.ConstantTimeCompare([]byte(token), i.serviceToken) == 1 {
		p := Principal{Role: accessv1.Role_ROLE_SERVICE}
		logging.AddFields(ctx, slog.String("role", "service"))
		return WithPrincipal(ctx, p), nil
	}
	if rule.Public {
		// A token on a public call is optional: use it when valid, ignore it otherwise,
		// so a stale header never locks anyone out of login or search.
		if hasToken {
			if p, err := i.verifier.Verify(ctx, token); err == nil {
				return i.with(ctx, p), nil
			}
		}
		return ctx, nil
	}
	if !hasToken {
		return ctx, ErrTokenMissing
	}
	p, err := i.verifier.Verify(ctx, token)
	if err != nil {
		if rule.Internal && len(rule.Roles) == 0 && !strings.Contains(token, ".") {
			return ctx, ReasonServiceTokenInvalid.New("the service credential is not valid")
		}
		return ctx, err
	}
	switch {
	case len(rule.Roles) == 0:
		return ctx, errServiceOnly
	case !slices.Contains(rule.Roles, p.Role):
		return ctx, errNoUsers
	}
	return i.with(ctx, p), nil
}

func (i *Interceptor) with(ctx context.Context, p Principal) context.Context {
	logging.AddFields(ctx, slog.String("user_id", p.UserID), slog.String("role", RoleName(p.Role)))
	return WithPrincipal(ctx, p)
}

// ServiceToken returns a client interceptor that sends the internal service credential
// on every call, unary or streaming (service-to-service calls to internal methods).
func ServiceToken(token string) connect.Interceptor {
	return serviceToken("Bearer " + token)
}

type serviceToken string

func (s serviceToken) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			req.Header().Set("Authorization", string(s))
		}
		return next(ctx, req)
	}
}

func (s serviceToken) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", string(s))
		return conn
	}
}

func (s serviceToken) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
