package partneredge_test

import (
	"context"
	"slices"
	"testing"

	"connectrpc.com/connect"

	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/partneredge"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

// TestCallLog_RecordsEveryCallOfAPartnerClient: a client's calls, served or refused at
// the edge, are read back from the call log with its client, clinic, secret id, the
// scope that admitted each, its code; another client's are not among them; and the
// log's chain verifies.
func TestCallLog_RecordsEveryCallOfAPartnerClient(t *testing.T) {
	s := startStack(t, stackOptions{callLog: true})
	client, token := s.users.SignPartner("clinic-7", "directory.read")
	p, err := authn.NewVerifier(s.users.KeySource()).Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	_, other := s.users.SignPartner("clinic-8", "directory.read")

	search := method(t, directoryv1connect.DirectoryServiceSearchDoctorsProcedure)
	if err := s.callGRPC(search, token, 0); err != nil {
		t.Fatalf("search: %v", err)
	}
	// gRPC-Web carries its status in a trailers frame of the body: the edge reads it there.
	if err := s.callConnect(search, token, 0, connect.WithGRPCWeb()); err != nil {
		t.Fatalf("search over gRPC-Web: %v", err)
	}
	err = s.callConnect(method(t, schedulingv1connect.SchedulingServiceGetDoctorAvailabilityProcedure), token, 0)
	testkit.WantReason(t, err, authn.ReasonScopeMissing)
	err = s.callConnect(method(t, keysv1connect.KeysServiceDecryptProcedure), token, 0)
	testkit.WantReason(t, err, partneredge.ReasonNotPartnerMethod)
	if err := s.callConnect(search, other, 0); err != nil {
		t.Fatalf("the other client's search: %v", err)
	}
	s.edge.Flush()

	calls, err := partneredge.ReadCalls(context.Background(), s.callLog, client, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ method, scope, code string }{
		{directoryv1connect.DirectoryServiceSearchDoctorsProcedure, "directory.read", "ok"},
		{directoryv1connect.DirectoryServiceSearchDoctorsProcedure, "directory.read", "ok"},
		{schedulingv1connect.SchedulingServiceGetDoctorAvailabilityProcedure, "", authn.ReasonScopeMissing.Code().String()},
		{keysv1connect.KeysServiceDecryptProcedure, "", partneredge.ReasonNotPartnerMethod.Code().String()},
	}
	if len(calls) != len(want) {
		t.Fatalf("%d calls logged for the client, want %d: %+v", len(calls), len(want), calls)
	}
	// The rows are appended after each answer, by goroutines of their own: in the
	// order the calls started.
	slices.SortFunc(calls, func(a, b partneredge.Call) int { return a.At.Compare(b.At) })
	for i, w := range want {
		c := calls[i]
		if c.Method != w.method || c.Scope != w.scope || c.Code != w.code || c.ClientID != client || c.ClinicID != "clinic-7" ||
			c.SecretID != p.SessionID || c.ClientAddr != "127.0.0.1" || c.At.IsZero() {
			t.Errorf("call %d = %+v, want %s scope %q code %s of client %s (clinic-7, secret %s) from 127.0.0.1", i, c, w.method, w.scope, w.code, client, p.SessionID)
		}
	}
	if calls[0].RequestID == "" {
		t.Error("the served call's request id (the service's) is not logged")
	}
	for _, m := range []struct {
		method, code string
		want         uint64
	}{{"SearchDoctors", "ok", 3}, {"GetDoctorAvailability", "permission_denied", 1}, {"other", "unimplemented", 1}} {
		if got := s.callsTimed(m.method, m.code); got != m.want {
			t.Errorf("healthcore_partner_call_duration_seconds{method=%q,code=%q} counted %d calls, want %d", m.method, m.code, got, m.want)
		}
	}
	rep, err := partneredge.VerifyCallLog(context.Background(), s.callLog, s.secret)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("the call log's chain: %s", rep)
	}
	if _, err := s.callLog.Exec(context.Background(), `UPDATE call_log SET code = 'ok'`); err == nil {
		t.Error("call_log accepted an UPDATE")
	}
}
