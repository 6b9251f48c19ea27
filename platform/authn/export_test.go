package authn

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Authenticate runs i's decision for a unary call of md with the headers h, for the
// tests outside the package that go over every RPC.
func Authenticate(i *Interceptor, ctx context.Context, md protoreflect.MethodDescriptor, h http.Header) (context.Context, error) {
	return i.authenticate(ctx, connect.Spec{
		Procedure: "/" + string(md.Parent().FullName()) + "/" + string(md.Name()),
		Schema:    md, StreamType: connect.StreamTypeUnary,
	}, h)
}
