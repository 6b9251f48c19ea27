package testkit

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
)

// ListDoctor tells the directory at directoryURL, as identity does once it holds the
// doctor verified, that the doctor may be listed: the step a test's doctor needs,
// besides a complete profile, to be found and booked.
func ListDoctor(t testing.TB, directoryURL, doctorID string) {
	t.Helper()
	dir := directoryv1connect.NewDirectoryServiceClient(HTTPClient(t), directoryURL, connect.WithGRPC(),
		connect.WithInterceptors(Caller("identity")))
	if _, err := dir.SetDoctorListing(context.Background(), connect.NewRequest(&directoryv1.SetDoctorListingRequest{
		DoctorId: doctorID, Listed: true, ChangeTime: timestamppb.New(time.Now()),
	})); err != nil {
		t.Fatalf("list doctor %s: %v", doctorID, err)
	}
}
