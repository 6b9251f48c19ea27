package gateway

import (
	"context"
	"math"
	"net/http"
	"strconv"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

var runtimeDefaultHeaderMatcher = runtime.DefaultHeaderMatcher

// errorHandler answers a failed call as JSON {code, message, details} with the HTTP
// status grpc-gateway maps the gRPC code to (400, 401, 403, 404, 409, 429…), and turns
// a RetryInfo detail into a Retry-After header.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if s, ok := status.FromError(err); ok {
		for _, d := range s.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
				secs := int64(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds()))
				w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
			}
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// writeStatus answers with a status in the same JSON form as errorHandler, for errors
// found before a request reaches the mux.
func writeStatus(w http.ResponseWriter, _ *http.Request, httpStatus int, s *status.Status) {
	body, _ := protojson.Marshal(s.Proto())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// routingErrorHandler answers requests no route takes. grpc-gateway maps a known path
// with the wrong method to UNIMPLEMENTED, which becomes 501 — a server error that pages
// people and is logged at ERROR — so it is answered as the client error it is: 405.
func routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus == http.StatusMethodNotAllowed {
		errorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{
			HTTPStatus: httpStatus,
			Err:        status.Error(codes.Unimplemented, http.StatusText(httpStatus)),
		})
		return
	}
	runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
}
