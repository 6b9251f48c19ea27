package awserr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func response(status int, err error) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}
}

func TestTransient_ClassifiesUnansweredOverloadedAndFaultyCalls(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		codes  []string
		want   bool
		code   string
		status int
	}{
		{"never answered", fmt.Errorf("op: %w", &smithyhttp.RequestSendError{Err: errors.New("connection refused")}), nil, true, "", 0},
		{"server fault", &smithy.GenericAPIError{Code: "InternalError", Fault: smithy.FaultServer}, nil, true, "InternalError", 0},
		{"throttling, always", &smithy.GenericAPIError{Code: "ThrottlingException", Fault: smithy.FaultClient}, nil, true, "ThrottlingException", 0},
		{"service-specific throttling code", &smithy.GenericAPIError{Code: "SlowDown", Fault: smithy.FaultClient}, []string{"SlowDown"}, true, "SlowDown", 0},
		{"same code not named", &smithy.GenericAPIError{Code: "SlowDown", Fault: smithy.FaultClient}, nil, false, "SlowDown", 0},
		{"503 response", response(503, errors.New("busy")), nil, true, "", 503},
		{"429 response", response(429, errors.New("slow down")), nil, true, "", 429},
		{"404 response", response(404, &smithy.GenericAPIError{Code: "NoSuchKey", Fault: smithy.FaultClient}), nil, false, "NoSuchKey", 404},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDeniedException", Fault: smithy.FaultClient}, nil, false, "AccessDeniedException", 0},
		{"plain error", errors.New("boom"), nil, false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err, tt.codes...); got != tt.want {
				t.Errorf("Transient = %v, want %v", got, tt.want)
			}
			if got := Code(tt.err); got != tt.code {
				t.Errorf("Code = %q, want %q", got, tt.code)
			}
			if got := Status(tt.err); got != tt.status {
				t.Errorf("Status = %d, want %d", got, tt.status)
			}
		})
	}
}

func TestIs_MatchesWrappedTypes(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &smithyhttp.RequestSendError{Err: errors.New("x")})
	if !Is[*smithyhttp.RequestSendError](err) || Is[*smithyhttp.ResponseError](err) {
		t.Error("Is does not follow the wrap chain to the right type")
	}
}
