package identity

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/testkit"
)

// download reads an export's stream to its end and returns its error.
func (f *fixture) download(token, id string) error {
	f.t.Helper()
	stream, err := f.grpc.DownloadDataExport(context.Background(), testkit.Authed(&identityv1.DownloadDataExportRequest{ExportId: id}, token))
	if err != nil {
		return err
	}
	defer stream.Close()
	for stream.Receive() {
	}
	return stream.Err()
}

func TestDataExport_OnlyItsOwnerReadsItAndOnlyWithinItsWindow(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := f.registerPatient("titular@example.com", "52998224725")
	f.registerPatient("outra@example.com", "11144477735")
	ownerToken := f.mustLogin(emailLogin("titular@example.com", "correct horse battery")).GetAccessToken()
	otherToken := f.mustLogin(emailLogin("outra@example.com", "correct horse battery")).GetAccessToken()

	created, err := f.client.CreateDataExport(ctx, testkit.Authed(&identityv1.CreateDataExportRequest{}, ownerToken))
	if err != nil || created.Msg.GetExport().GetState() != identityv1.DataExportState_DATA_EXPORT_STATE_PENDING {
		t.Fatalf("create: %v %v", created, err)
	}
	id := created.Msg.GetExport().GetId()
	again, err := f.client.CreateDataExport(ctx, testkit.Authed(&identityv1.CreateDataExportRequest{}, ownerToken))
	if err != nil || again.Msg.GetExport().GetId() != id {
		t.Errorf("a second request while one is pending: %v %v, want export %s again", again, err, id)
	}
	testkit.WantReason(t, f.download(ownerToken, id), ReasonExportNotReady)

	// The job's result, as it stores it (the job itself needs the other services: the
	// multi-process test runs it).
	readyAt := f.clock.Now()
	if ok, err := f.svc.exports.markReady(ctx, f.db, dataExport{ID: id, ReadyAt: &readyAt, ExpiresAt: new(readyAt.Add(24 * time.Hour)),
		Size: 1234, BlobKey: "identity/exports/" + id, DataKey: []byte("sealed"), NoncePrefix: []byte{1, 2, 3, 4}}); !ok || err != nil {
		t.Fatalf("mark ready: %v %v", ok, err)
	}
	got, err := f.client.GetDataExport(ctx, testkit.Authed(&identityv1.GetDataExportRequest{ExportId: id}, ownerToken))
	if err != nil || got.Msg.GetExport().GetState() != identityv1.DataExportState_DATA_EXPORT_STATE_READY ||
		!got.Msg.GetExport().GetExpireTime().AsTime().Equal(readyAt.Add(24*time.Hour)) || got.Msg.GetExport().GetSizeBytes() != 1234 {
		t.Fatalf("get: %v %v", got, err)
	}

	_, err = f.client.GetDataExport(ctx, testkit.Authed(&identityv1.GetDataExportRequest{ExportId: id}, otherToken))
	testkit.WantReason(t, err, ReasonExportNotFound)
	testkit.WantReason(t, f.download(otherToken, id), ReasonExportNotFound)

	f.clock.Advance(24 * time.Hour)
	ownerToken = f.mustLogin(emailLogin("titular@example.com", "correct horse battery")).GetAccessToken()
	got, err = f.client.GetDataExport(ctx, testkit.Authed(&identityv1.GetDataExportRequest{ExportId: id}, ownerToken))
	if err != nil || got.Msg.GetExport().GetState() != identityv1.DataExportState_DATA_EXPORT_STATE_EXPIRED {
		t.Errorf("get after 24 h: %v %v, want EXPIRED", got, err)
	}
	testkit.WantReason(t, f.download(ownerToken, id), ReasonExportExpired)
	if owner.GetId() == "" || connect.CodeOf(f.download(ownerToken, id)) != connect.CodeFailedPrecondition {
		t.Error("the expired download is not FAILED_PRECONDITION")
	}
}
